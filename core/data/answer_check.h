// SPDX-License-Identifier: MIT
#pragma once

#include "core/data/task_catalog.h"

#include <QRegularExpression>
#include <QSet>
#include <QString>

#include <array>
#include <vector>

namespace fcl {

/// One generated answer graded three ways, after CoIN: `exact` is the usual accuracy, `format`
/// says whether the answer has the shape the instruction asks for (a right-shaped wrong answer
/// still counts), `knowledge` whether it carries the right content (a badly shaped right answer
/// still counts). An exact answer is always well formed and knowledgeable.
struct AnswerCheck {
    bool exact = false;     ///< the normalised answer equals the expected one
    bool format = false;    ///< well formed for what the instruction asks (true when exact)
    bool knowledge = false; ///< carries the right content, however formed (true when exact)
};

/// The Fashion-MNIST classes (labels 0-9) that `text` names, ascending and distinct. Matching is
/// by whole tokens, case-insensitive; tokens are split on whitespace and on every character that
/// is neither a letter, a digit nor '-' (so "shirt" is not found in "t-shirt", and leading or
/// trailing hyphens are dropped). "ankle boot" is the bigram "ankle boot" (or "ankle-boot"); "t
/// shirt" and "tshirt" also name the t-shirt. Regular plurals ("trousers", "sneakers", "dresses",
/// "ankle boots", ...) count as their singular.
std::vector<int> mentionedClasses(const QString &text);

/// Checks the answers of one task. `trainAnswers`: for user tasks (TaskFamily::User), the
/// distinct answers of the training file (ignored otherwise).
///
/// The answer is trimmed and its inner whitespace collapsed (QString::simplified(); case is
/// kept), then, by family:
/// - names (ClassSubset, DomainShift, PairLeft): well formed when it is one of the task's answer
///   words; knowledgeable when it names exactly one class (mentionedClasses()) and that is the
///   expected name ("a dark ankle boot" for "ankle boot").
/// - YesNo: well formed when "yes" or "no"; knowledgeable when it names exactly one class whose
///   answer (TaskSpec::answerFor()) is the expected one ("sneaker" for "is it worn on the feet?").
/// - Category: well formed when it is one of the task's category words; knowledgeable when it
///   names exactly one class whose category is the expected one.
/// - DarkYesNo: well formed when "yes" or "no"; knowledgeable when exactly one of the words
///   "dark" ("yes") and "light" ("no") occurs and it means the expected answer.
/// - Caption: well formed when "a dark <name>" or "a light <name>" for any of the ten names (a
///   well-formed caption of the wrong item is a knowledge error, not a format one);
///   knowledgeable when exactly one shade word and exactly one class occur and "a <shade>
///   <name>" is the expected caption.
/// - PairCount: well formed when "0", "1" or "2"; knowledgeable when the first number token
///   (digits, or "zero", "none", "one", "two") is the expected count.
/// - PairBrighter: well formed when "left" or "right"; knowledgeable when exactly one of them
///   occurs and it is the expected side.
/// - Text: well formed when shaped like what textSample() generates for the task's operation
///   (3-7 lower-case letters; 3-7 capitals for Upper; 1-2 digits for Add; one digit for Count);
///   knowledgeable only when exact.
/// - User: well formed when it is one of the training answers if there are at most 64 distinct
///   ones (a closed answer set), else when non-empty and no longer than the longest training
///   answer; knowledgeable only when exact.
/// Immutable once built; any thread.
class AnswerChecker {
public:
    explicit AnswerChecker(const TaskSpec &task, const std::vector<QString> &trainAnswers = {});

    /// Grades `got` against `want`. `prompt` is the question the model was asked; no family reads
    /// it yet (a multiple-choice family will take its options from it).
    AnswerCheck check(const QString &prompt, const QString &got, const QString &want) const;

private:
    /// How knowledge is judged when the answer is not exact.
    enum class KnowledgeRule { ExactOnly, ClassAnswer, Shade, Caption, Count, Side };

    bool isWellFormed(const QString &got) const;
    bool carriesKnowledge(const QString &got, const QString &want) const;

    KnowledgeRule m_rule = KnowledgeRule::ExactOnly;
    QSet<QString> m_formatWords;           ///< well-formed answers, when the set is closed
    QRegularExpression m_formatPattern;    ///< well-formed answers, when a pattern (else empty)
    qsizetype m_maxLength = -1;            ///< open user answers: the longest training answer
    std::array<QString, 10> m_classAnswer; ///< ClassAnswer: the expected word for each class
};

} // namespace fcl
