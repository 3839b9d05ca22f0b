// SPDX-License-Identifier: MIT
#pragma once

#include "core/data/idx_reader.h"

#include <QString>

#include <vector>

namespace fcl {

/// How a task changes the images it shows (domain-shift variants).
enum class ImageTransform { None, Rotate90, Invert, Noise };

enum class TaskFamily { ClassSubset, YesNo, DomainShift };

/// One built-in instruction task over Fashion-MNIST: an instruction, the source classes it draws
/// images from, and the answer (a word of answerVocabulary()) for each source class.
struct TaskSpec {
    QString id;          ///< stable name used in experiment files, e.g. "fmnist-split-1"
    QString title;       ///< one line for `fcl tasks` and the task palette
    QString instruction; ///< the question the model is asked, e.g. "What item is this?"
    TaskFamily family = TaskFamily::ClassSubset;
    ImageTransform transform = ImageTransform::None;
    std::vector<int> sourceClasses; ///< Fashion-MNIST labels whose images the task uses
    std::vector<int> yesClasses;    ///< for yes/no tasks: source classes answered "yes"

    /// The answer index (into answerVocabulary()) for an image of Fashion-MNIST class `label`.
    int answerFor(int label) const;
    /// The distinct answers this task can produce, ascending.
    std::vector<int> answerSet() const;
};

/// The answer words every model head shares: the ten Fashion-MNIST class names, then "yes", "no".
const std::vector<QString> &answerVocabulary();
constexpr int kAnswerYes = 10;
constexpr int kAnswerNo = 11;
constexpr int kAnswerCount = 12;

/// The built-in catalog, in display order. Immutable; any thread.
const std::vector<TaskSpec> &builtinTasks();
/// The task named `id`, or nullptr.
const TaskSpec *findTask(const QString &id);

/// A task's samples in one split: indices into the shared ImageSet and the answer for each.
struct TaskSamples {
    std::vector<int> indices;
    std::vector<int> answers;
};

/// Every sample of `set` that belongs to `task`, in file order (deterministic).
TaskSamples selectTaskSamples(const TaskSpec &task, const ImageSet &set);

/// A deterministic 32-bit FNV-1a hash of the UTF-8 text; stable across processes (unlike qHash).
quint32 stableHash(const QString &text);

} // namespace fcl
