// SPDX-License-Identifier: MIT
#include "core/data/answer_check.h"

#include <QHash>

#include <algorithm>

namespace fcl {

namespace {

constexpr int kClassCount = 10;
constexpr int kAnkleBoot = 9;
constexpr int kTShirt = 0;
/// A user task with at most this many distinct training answers has a closed answer set.
constexpr int kClosedAnswerSetLimit = 64;

/// The lower-cased tokens of `text`: runs of letters, digits and '-', without leading or
/// trailing hyphens.
QStringList tokensOf(const QString &text)
{
    QStringList tokens;
    QString current;
    auto flush = [&tokens, &current] {
        qsizetype begin = 0;
        qsizetype end = current.size();
        while (begin < end && current[begin] == QLatin1Char('-')) {
            ++begin;
        }
        while (end > begin && current[end - 1] == QLatin1Char('-')) {
            --end;
        }
        if (end > begin) {
            tokens.append(current.mid(begin, end - begin));
        }
        current.clear();
    };
    for (const QChar c : text) {
        if (c.isLetterOrNumber() || c == QLatin1Char('-')) {
            current.append(c.toLower());
        } else {
            flush();
        }
    }
    flush();
    return tokens;
}

/// Single-token class names and their regular plurals ("ankle boot" is a bigram, see
/// mentionedClasses()).
const QHash<QString, int> &classTokens()
{
    static const QHash<QString, int> tokens = [] {
        QHash<QString, int> map;
        const std::vector<QString> &words = answerVocabulary();
        for (int label = 0; label < kClassCount; ++label) {
            const QString &name = words[static_cast<std::size_t>(label)];
            if (label == kAnkleBoot) {
                continue;
            }
            map.insert(name, label);
            map.insert(name.endsWith(QLatin1Char('s')) ? name + QStringLiteral("es")
                                                       : name + QLatin1Char('s'),
                       label);
        }
        map.insert(QStringLiteral("tshirt"), kTShirt);
        map.insert(QStringLiteral("tshirts"), kTShirt);
        map.insert(QStringLiteral("ankle-boot"), kAnkleBoot);
        map.insert(QStringLiteral("ankle-boots"), kAnkleBoot);
        return map;
    }();
    return tokens;
}

bool isBoot(const QString &token)
{
    return token == QLatin1String("boot") || token == QLatin1String("boots");
}

bool isShirt(const QString &token)
{
    return token == QLatin1String("shirt") || token == QLatin1String("shirts");
}

/// Which of `first` and `second` occur among `tokens`: 0 neither or both, 1 only `first`, 2
/// only `second`.
int whichOccurs(const QStringList &tokens, QLatin1String first, QLatin1String second)
{
    const bool hasFirst = tokens.contains(first);
    const bool hasSecond = tokens.contains(second);
    if (hasFirst == hasSecond) {
        return 0;
    }
    return hasFirst ? 1 : 2;
}

/// The first number token of `tokens` as digits without leading zeros ("two" is "2"), or an
/// empty string.
QString firstNumber(const QStringList &tokens)
{
    static const QHash<QString, QString> words = {{QStringLiteral("zero"), QStringLiteral("0")},
                                                  {QStringLiteral("none"), QStringLiteral("0")},
                                                  {QStringLiteral("one"), QStringLiteral("1")},
                                                  {QStringLiteral("two"), QStringLiteral("2")}};
    for (const QString &token : tokens) {
        const auto word = words.constFind(token);
        if (word != words.cend()) {
            return *word;
        }
        const bool digits = std::all_of(token.begin(), token.end(), [](QChar c) {
            return c >= QLatin1Char('0') && c <= QLatin1Char('9');
        });
        if (digits) {
            qsizetype zeros = 0;
            while (zeros + 1 < token.size() && token[zeros] == QLatin1Char('0')) {
                ++zeros;
            }
            return token.mid(zeros);
        }
    }
    return {};
}

QSet<QString> wordsOf(const std::vector<int> &answers)
{
    QSet<QString> set;
    for (int answer : answers) {
        set.insert(answerVocabulary()[static_cast<std::size_t>(answer)]);
    }
    return set;
}

/// The shape of what textSample() generates for `op`. The regexes agree with textSample(): words
/// are 3-7 random lower-case letters (Reverse, Sort, Copy and Caesar keep the letters and the
/// length, Upper capitalises them), Add sums two numbers below 50 (0-98: one or two digits) and
/// Count gives the word's length (3-7: one digit).
QString textPattern(TextOp op)
{
    switch (op) {
    case TextOp::Reverse:
    case TextOp::Sort:
    case TextOp::Copy:
    case TextOp::Caesar:
        return QStringLiteral("[a-z]{3,7}");
    case TextOp::Upper:
        return QStringLiteral("[A-Z]{3,7}");
    case TextOp::Add:
        return QStringLiteral("[0-9]{1,2}");
    case TextOp::Count:
        return QStringLiteral("[0-9]");
    case TextOp::None:
        break;
    }
    return {};
}

} // namespace

std::vector<int> mentionedClasses(const QString &text)
{
    const QStringList tokens = tokensOf(text);
    const QHash<QString, int> &names = classTokens();
    bool seen[kClassCount] = {};
    for (qsizetype i = 0; i < tokens.size(); ++i) {
        const QString &token = tokens[i];
        const bool hasNext = i + 1 < tokens.size();
        if (token == QLatin1String("ankle") && hasNext && isBoot(tokens[i + 1])) {
            seen[kAnkleBoot] = true;
            ++i;
        } else if (token == QLatin1String("t") && hasNext && isShirt(tokens[i + 1])) {
            seen[kTShirt] = true;
            ++i;
        } else {
            const auto name = names.constFind(token);
            if (name != names.cend()) {
                seen[*name] = true;
            }
        }
    }
    std::vector<int> labels;
    for (int label = 0; label < kClassCount; ++label) {
        if (seen[label]) {
            labels.push_back(label);
        }
    }
    return labels;
}

AnswerChecker::AnswerChecker(const TaskSpec &task, const std::vector<QString> &trainAnswers)
{
    const std::vector<QString> &words = answerVocabulary();
    const QSet<QString> yesNo = {words[kAnswerYes], words[kAnswerNo]};
    switch (task.family) {
    case TaskFamily::ClassSubset:
    case TaskFamily::DomainShift:
    case TaskFamily::PairLeft:
    case TaskFamily::Category:
        m_rule = KnowledgeRule::ClassAnswer;
        m_formatWords = wordsOf(task.answerSet());
        break;
    case TaskFamily::YesNo:
        m_rule = KnowledgeRule::ClassAnswer;
        m_formatWords = yesNo;
        break;
    case TaskFamily::DarkYesNo:
        m_rule = KnowledgeRule::Shade;
        m_formatWords = yesNo;
        break;
    case TaskFamily::Caption: {
        m_rule = KnowledgeRule::Caption;
        QStringList names;
        for (int label = 0; label < kClassCount; ++label) {
            names.append(QRegularExpression::escape(words[static_cast<std::size_t>(label)]));
        }
        m_formatPattern.setPattern(QRegularExpression::anchoredPattern(
            QStringLiteral("a (dark|light) (%1)").arg(names.join(QLatin1Char('|')))));
        break;
    }
    case TaskFamily::PairCount:
        m_rule = KnowledgeRule::Count;
        m_formatWords = wordsOf({kAnswerZero, kAnswerZero + 1, kAnswerZero + 2});
        break;
    case TaskFamily::PairBrighter:
        m_rule = KnowledgeRule::Side;
        m_formatWords = wordsOf({kAnswerLeft, kAnswerRight});
        break;
    case TaskFamily::Text: {
        const QString pattern = textPattern(task.textOp);
        if (!pattern.isEmpty()) {
            m_formatPattern.setPattern(QRegularExpression::anchoredPattern(pattern));
        }
        break;
    }
    case TaskFamily::User: {
        QSet<QString> distinct; // compared with simplified answers
        for (const QString &answer : trainAnswers) {
            distinct.insert(answer.simplified());
        }
        if (distinct.size() <= kClosedAnswerSetLimit) {
            m_formatWords = distinct;
        } else {
            m_maxLength = 0;
            for (const QString &answer : distinct) {
                m_maxLength = std::max(m_maxLength, answer.size());
            }
        }
        break;
    }
    }
    if (m_rule == KnowledgeRule::ClassAnswer) {
        for (int label = 0; label < kClassCount; ++label) {
            const int answer = task.answerFor(label);
            if (answer >= 0 && answer < kAnswerWordCount) {
                m_classAnswer[static_cast<std::size_t>(label)] =
                    words[static_cast<std::size_t>(answer)];
            }
        }
    }
}

AnswerCheck AnswerChecker::check([[maybe_unused]] const QString &prompt, const QString &got,
                                 const QString &want) const
{
    const QString answer = got.simplified();
    AnswerCheck result;
    result.exact = got == want || answer == want.simplified();
    result.format = result.exact || isWellFormed(answer);
    result.knowledge = result.exact || carriesKnowledge(answer, want);
    return result;
}

bool AnswerChecker::isWellFormed(const QString &got) const
{
    if (m_maxLength >= 0) {
        return !got.isEmpty() && got.size() <= m_maxLength;
    }
    if (!m_formatPattern.pattern().isEmpty()) {
        return m_formatPattern.match(got).hasMatch();
    }
    return m_formatWords.contains(got);
}

bool AnswerChecker::carriesKnowledge(const QString &got, const QString &want) const
{
    const std::vector<QString> &words = answerVocabulary();
    switch (m_rule) {
    case KnowledgeRule::ExactOnly:
        return false;
    case KnowledgeRule::ClassAnswer: {
        const std::vector<int> named = mentionedClasses(got);
        return named.size() == 1 && m_classAnswer[static_cast<std::size_t>(named.front())] == want;
    }
    case KnowledgeRule::Shade: {
        const int shade = whichOccurs(tokensOf(got), QLatin1String("dark"), QLatin1String("light"));
        return shade != 0 && words[shade == 1 ? kAnswerYes : kAnswerNo] == want;
    }
    case KnowledgeRule::Caption: {
        const int shade = whichOccurs(tokensOf(got), QLatin1String("dark"), QLatin1String("light"));
        const std::vector<int> named = mentionedClasses(got);
        if (shade == 0 || named.size() != 1) {
            return false;
        }
        const int caption = (shade == 1 ? kAnswerDarkCaption : kAnswerLightCaption) + named.front();
        return words[static_cast<std::size_t>(caption)] == want;
    }
    case KnowledgeRule::Count: {
        const QString number = firstNumber(tokensOf(got));
        return !number.isEmpty() && number == want;
    }
    case KnowledgeRule::Side: {
        const int side = whichOccurs(tokensOf(got), QLatin1String("left"), QLatin1String("right"));
        return side != 0 && words[side == 1 ? kAnswerLeft : kAnswerRight] == want;
    }
    }
    return false;
}

} // namespace fcl
