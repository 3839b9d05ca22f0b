// SPDX-License-Identifier: MIT
#include "core/common/method_descriptor.h"

namespace fcl {

namespace {
using Type = ParamDescriptor::Type;
} // namespace

ParamDescriptor boolParam(const char *name, bool defaultValue, const char *help)
{
    ParamDescriptor p;
    p.name = QString::fromLatin1(name);
    p.type = Type::Bool;
    p.defaultValue = defaultValue;
    p.help = QString::fromUtf8(help);
    return p;
}

ParamDescriptor intParam(const char *name, int minimum, int maximum, int defaultValue,
                         const char *help)
{
    ParamDescriptor p;
    p.name = QString::fromLatin1(name);
    p.type = Type::Int;
    p.minimum = minimum;
    p.maximum = maximum;
    p.defaultValue = defaultValue;
    p.help = QString::fromUtf8(help);
    return p;
}

ParamDescriptor doubleParam(const char *name, double minimum, double maximum, double defaultValue,
                            const char *help, bool minExclusive)
{
    ParamDescriptor p;
    p.name = QString::fromLatin1(name);
    p.type = Type::Double;
    p.minimum = minimum;
    p.maximum = maximum;
    p.minExclusive = minExclusive;
    p.defaultValue = defaultValue;
    p.help = QString::fromUtf8(help);
    return p;
}

ParamDescriptor choiceParam(const char *name, QStringList choices, const char *help)
{
    ParamDescriptor p;
    p.name = QString::fromLatin1(name);
    p.type = Type::Choice;
    p.defaultValue = choices.first();
    p.choices = std::move(choices);
    p.help = QString::fromUtf8(help);
    return p;
}

ParamDescriptor textParam(const char *name, const char *defaultValue, const char *help)
{
    ParamDescriptor p;
    p.name = QString::fromLatin1(name);
    p.type = Type::Text;
    p.defaultValue = QString::fromUtf8(defaultValue);
    p.help = QString::fromUtf8(help);
    return p;
}

MethodDescriptor describeMethod(const char *category, const char *id, const char *title,
                                const char *summary, const char *explanation,
                                std::vector<ParamDescriptor> params, MethodFactory create)
{
    MethodDescriptor method;
    method.category = QString::fromLatin1(category);
    method.id = QString::fromLatin1(id);
    method.title = QString::fromUtf8(title);
    method.summary = QString::fromUtf8(summary);
    method.explanation = QString::fromUtf8(explanation);
    method.params = std::move(params);
    method.create = std::move(create);
    return method;
}

QString ParamDescriptor::rangeText() const
{
    switch (type) {
    case Type::Int:
    case Type::Double:
        return QStringLiteral("%1%2, %3]")
            .arg(minExclusive ? QStringLiteral("(") : QStringLiteral("["))
            .arg(minimum)
            .arg(maximum);
    case Type::Choice:
        return QStringLiteral("one of ") + choices.join(QStringLiteral(", "));
    case Type::Bool:
        return QStringLiteral("true or false");
    case Type::Text:
        return QStringLiteral("text");
    }
    return {};
}

} // namespace fcl
