// SPDX-License-Identifier: MIT
#include "core/model/base_model_p.h"
#include "core/model/peft_p.h"

#include "core/model/safetensors_p.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>

namespace fcl::detail {
namespace {

const QString kWeights = QStringLiteral("model.safetensors");
const QString kConfig = QStringLiteral("config.json");
const QString kManifest = QStringLiteral("manifest.json");

Result<QJsonObject> readJsonObject(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return Error{path, QStringLiteral("cannot read: %1").arg(file.errorString())};
    }
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject()) {
        return Error{path, QStringLiteral("not a JSON object (%1 at byte %2)")
                               .arg(error.errorString())
                               .arg(error.offset)};
    }
    return doc.object();
}

QString jsonText(const QJsonValue &value)
{
    if (value.isUndefined()) {
        return QStringLiteral("nothing");
    }
    const QByteArray wrapped = QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(wrapped.mid(1, wrapped.size() - 2)).left(80);
}

bool isBaseParameter(const std::string &name)
{
    return !isPeftParameter(name);
}

Result<Unit> writeJson(const QString &path, const QJsonObject &object)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        return Error{path, QStringLiteral("cannot write: %1").arg(file.errorString())};
    }
    file.write(QJsonDocument(object).toJson(QJsonDocument::Indented));
    if (!file.commit()) {
        return Error{path, QStringLiteral("cannot write: %1").arg(file.errorString())};
    }
    return Unit{};
}

} // namespace

QString fileSha256(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return {};
    }
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(&file);
    return QString::fromLatin1(hash.result().toHex());
}

Result<TinyVlmConfig> readBaseConfig(const QString &dir)
{
    const QString manifestPath = dir + QLatin1Char('/') + kManifest;
    const QString configPath = dir + QLatin1Char('/') + kConfig;
    auto manifest = readJsonObject(manifestPath);
    if (!manifest) {
        return manifest.errors();
    }
    auto configJson = readJsonObject(configPath);
    if (!configJson) {
        return configJson.errors();
    }
    std::vector<Error> errors;
    if (manifest->value(QStringLiteral("format")).toString() != QLatin1String("fcl-base-v1")) {
        errors.push_back({manifestPath + QStringLiteral(": format"),
                          QStringLiteral("is \"%1\", expected \"fcl-base-v1\"")
                              .arg(manifest->value(QStringLiteral("format")).toString())});
    }
    const QJsonObject stated = manifest->value(QStringLiteral("config")).toObject();
    for (auto it = configJson->begin(); it != configJson->end(); ++it) {
        if (stated.value(it.key()) != it.value()) {
            errors.push_back({configPath + QStringLiteral(": ") + it.key(),
                              QStringLiteral("is %1 but the manifest says %2")
                                  .arg(jsonText(it.value()), jsonText(stated.value(it.key())))});
        }
    }
    for (auto it = stated.begin(); it != stated.end(); ++it) {
        if (!configJson->contains(it.key())) {
            errors.push_back({configPath + QStringLiteral(": ") + it.key(),
                              QStringLiteral("is missing (the manifest has it)")});
        }
    }
    const QJsonObject sums = manifest->value(QStringLiteral("sha256")).toObject();
    for (const QString &name : {kWeights, kConfig}) {
        const QString expected = sums.value(name).toString();
        const QString actual = fileSha256(dir + QLatin1Char('/') + name);
        if (actual.isEmpty()) {
            errors.push_back({dir + QLatin1Char('/') + name, QStringLiteral("cannot be read")});
        } else if (expected != actual) {
            errors.push_back({dir + QLatin1Char('/') + name,
                              QStringLiteral("SHA-256 is %1, the manifest says %2 (the file was "
                                             "changed or replaced)")
                                  .arg(actual.left(16), expected.isEmpty() ? QStringLiteral("none")
                                                                           : expected.left(16))});
        }
    }
    auto config = TinyVlmConfig::fromJson(configJson.value());
    if (!config) {
        for (const Error &e : config.errors()) {
            errors.push_back({configPath + QStringLiteral(": ") + e.where, e.message});
        }
    }
    if (!errors.empty()) {
        return errors;
    }
    return config;
}

Result<Unit> loadBase(Network &network, const QString &dir)
{
    auto config = readBaseConfig(dir);
    if (!config) {
        return config.errors();
    }
    auto weights = readSafetensorsFile(dir + QLatin1Char('/') + kWeights);
    if (!weights) {
        return weights.errors();
    }
    const QString where = dir + QLatin1Char('/') + kWeights;
    std::map<std::string, torch::Tensor> byName;
    for (const NamedTensor &t : weights.value()) {
        byName[t.name] = t.value;
    }
    std::vector<Error> errors;
    std::size_t used = 0;
    auto parameters = network.named_parameters();
    for (auto &item : parameters) {
        if (!isBaseParameter(item.key())) {
            continue;
        }
        const auto found = byName.find(item.key());
        if (found == byName.end()) {
            errors.push_back({where, QStringLiteral("tensor \"%1\" is missing")
                                         .arg(QString::fromStdString(item.key()))});
            continue;
        }
        if (found->second.sizes() != item.value().sizes()) {
            errors.push_back(
                {where, QStringLiteral("tensor \"%1\" has shape %2, the model needs %3")
                            .arg(QString::fromStdString(item.key()),
                                 QString::fromStdString(c10::str(found->second.sizes())),
                                 QString::fromStdString(c10::str(item.value().sizes())))});
            continue;
        }
        ++used;
    }
    if (errors.empty() && used != byName.size()) {
        for (const auto &[name, tensor] : byName) {
            if (!parameters.contains(name)) {
                errors.push_back({where, QStringLiteral("tensor \"%1\" is not part of a tiny-vlm")
                                             .arg(QString::fromStdString(name))});
            }
        }
    }
    if (!errors.empty()) {
        return errors;
    }
    torch::NoGradGuard noGrad;
    for (auto &item : parameters) {
        if (isBaseParameter(item.key())) {
            item.value().copy_(byName[item.key()]);
        }
    }
    return Unit{};
}

Result<Unit> saveBase(Network &network, const TinyVlmConfig &config, const QString &dir,
                      std::uint64_t seed, const QJsonObject &recipe)
{
    if (!QDir().mkpath(dir)) {
        return Error{dir, QStringLiteral("cannot create the directory")};
    }
    TensorList tensors;
    for (const auto &item : network.named_parameters()) {
        if (isBaseParameter(item.key())) {
            tensors.push_back({item.key(), item.value()});
        }
    }
    const QString weightsPath = dir + QLatin1Char('/') + kWeights;
    if (auto written = writeSafetensorsFile(weightsPath, tensors,
                                            {{QStringLiteral("format"), QStringLiteral("pt")}});
        !written) {
        return written.errors();
    }
    const QString configPath = dir + QLatin1Char('/') + kConfig;
    if (auto written = writeJson(configPath, config.toJson()); !written) {
        return written.errors();
    }
    const QJsonObject manifest{
        {QStringLiteral("format"), QStringLiteral("fcl-base-v1")},
        {QStringLiteral("config"), config.toJson()},
        {QStringLiteral("seed"), QString::number(seed)},
        {QStringLiteral("recipe"), recipe},
        {QStringLiteral("sha256"),
         QJsonObject{{kWeights, fileSha256(weightsPath)}, {kConfig, fileSha256(configPath)}}}};
    return writeJson(dir + QLatin1Char('/') + kManifest, manifest);
}

} // namespace fcl::detail
