// SPDX-License-Identifier: MIT
#include "app/cli/text_output.h"

#include "core/sim/registry.h"

#include <cmath>

namespace fcl::cli {

namespace {
QString cell(double value)
{
    return std::isnan(value) ? QStringLiteral("    -") : QString::number(value, 'f', 3);
}
QString paramLine(const ParamDescriptor &p)
{
    const QString defaultText = p.optional ? QStringLiteral("(none)") : p.defaultValue.toString();
    return QStringLiteral("    %1 %2 default %3: %4\n")
        .arg(p.name, -22)
        .arg(p.rangeText(), -22)
        .arg(defaultText, -9)
        .arg(p.help);
}
} // namespace

QString formatMatrix(const AccuracyMatrix &matrix, const std::vector<QString> &taskIds)
{
    int width = 6;
    for (const QString &id : taskIds) {
        width = std::max(width, static_cast<int>(id.size()));
    }
    QString text = QStringLiteral("%1").arg(QStringLiteral("after"), -10);
    for (const QString &id : taskIds) {
        text += QStringLiteral("  ") + id.rightJustified(width);
    }
    text += QLatin1Char('\n');
    text += QStringLiteral("%1").arg(QStringLiteral("untrained"), -10);
    for (int j = 0; j < matrix.tasks(); ++j) {
        text += QStringLiteral("  ") + cell(matrix.baseline(j)).rightJustified(width);
    }
    text += QLatin1Char('\n');
    for (int s = 0; s < matrix.stages(); ++s) {
        text += QStringLiteral("%1").arg(QStringLiteral("stage %1").arg(s + 1), -10);
        for (int j = 0; j < matrix.tasks(); ++j) {
            text += QStringLiteral("  ") + cell(matrix.at(s, j)).rightJustified(width);
        }
        text += QLatin1Char('\n');
    }
    return text;
}

QString formatSummary(const AccuracyMatrix &matrix, qint64 bytesUp, qint64 bytesDown)
{
    auto line = [](const char *label, const QString &value) {
        return QStringLiteral("%1 %2\n").arg(QString::fromLatin1(label), -44).arg(value);
    };
    auto signedValue = [](double v) {
        return (v >= 0 ? QStringLiteral("+") : QString()) + QString::number(v, 'f', 3);
    };
    QString text;
    text += line("Final average accuracy (ACC, Last)",
                 QString::number(matrix.finalAverageAccuracy(), 'f', 3));
    text += line("Average incremental accuracy (Avg)",
                 QString::number(matrix.averageIncrementalAccuracy(), 'f', 3));
    text +=
        line("Average forgetting (F)", QString::number(matrix.finalAverageForgetting(), 'f', 3));
    text += line("Backward transfer (BWT)", signedValue(matrix.backwardTransfer()));
    text += line("Forward transfer (FWT)", signedValue(matrix.forwardTransfer()));
    text += line("Mean right after learning (MFT)",
                 QString::number(matrix.meanFinetuneAccuracy(), 'f', 3));
    text += line("Mean final accuracy (MFN)", QString::number(matrix.meanFinalAccuracy(), 'f', 3));
    text += line("Communication up / down", formatBytes(double(bytesUp)) + QStringLiteral(" / ") +
                                                formatBytes(double(bytesDown)));
    return text;
}

QString formatRegistry()
{
    QString text;
    for (const SectionDescriptor &section : sectionRegistry()) {
        text += QStringLiteral("\n\"%1\": {\"%2\": %3, ...}\n")
                    .arg(section.key, section.selectorKey,
                         methodIds(section.key).join(QLatin1Char('|')));
        for (const ParamDescriptor &p : section.commonParams) {
            text += paramLine(p);
        }
        for (const MethodDescriptor &m : methodRegistry()) {
            if (m.category != section.key) {
                continue;
            }
            text += QStringLiteral("  %1 (%2): %3\n").arg(m.id, m.title, m.summary);
            for (const ParamDescriptor &p : m.params) {
                text += paramLine(p);
            }
        }
    }
    text += QStringLiteral("\n\"clients\": [{\"name\": ..., ...}]\n");
    for (const ParamDescriptor &p : clientParams()) {
        text += paramLine(p);
    }
    text += QStringLiteral("\n\"evaluation\": {...}\n");
    for (const ParamDescriptor &p : evaluationParams()) {
        text += paramLine(p);
    }
    return text;
}

} // namespace fcl::cli
