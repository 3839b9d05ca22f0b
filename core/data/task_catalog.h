// SPDX-License-Identifier: MIT
#pragma once

#include "core/data/idx_reader.h"

#include <QString>

#include <cstdint>

#include <vector>

namespace fcl {

/// How a task changes the images it shows (domain-shift variants).
enum class ImageTransform { None, Rotate90, Invert, Noise };

/// What a task asks. The first three answer from the image's class alone; Caption and DarkYesNo
/// also read the image's brightness; the Pair families show two items side by side in one
/// 28x28 image (each shrunk to 14x14); Text tasks have no image and free-text answers, so only
/// generative backbones (tiny-vlm) can learn them.
enum class TaskFamily {
    ClassSubset,
    YesNo,
    DomainShift,
    Category,
    Caption,
    DarkYesNo,
    PairCount,
    PairLeft,
    PairBrighter,
    Text,
    User ///< from a user's file (see user_task.h): samples and answers come from the file
};

/// The text-only tasks' operations.
enum class TextOp { None, Reverse, Sort, Copy, Add, Count, Caesar, Upper };

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
                                    ///< (PairCount: the classes counted)
    /// More ways to ask the same thing; a sample's phrasing is chosen by its index. Text tasks:
    /// templates where %1 stands for the input.
    std::vector<QString> phrasings;
    TextOp textOp = TextOp::None;

    /// The answer index (into answerVocabulary()) for an image of Fashion-MNIST class `label`
    /// (-1 for text tasks). Caption, DarkYesNo and the Pair families need answerForImages().
    int answerFor(int label) const;
    /// The answer for one image (`light`: brighter than its class's median) or, for the Pair
    /// families, for the left and right items.
    int answerForImages(int label, bool light, int rightLabel = -1, bool rightLight = false,
                        bool leftBrighter = false) const;
    /// The distinct answers this task can produce, ascending (empty for text tasks).
    std::vector<int> answerSet() const;
    bool isText() const { return family == TaskFamily::Text; }
    bool isUser() const { return family == TaskFamily::User; }
    bool isPair() const
    {
        return family == TaskFamily::PairCount || family == TaskFamily::PairLeft ||
               family == TaskFamily::PairBrighter;
    }
    /// True when the answer depends on more than the class (brightness or a second item).
    bool needsImageStatistics() const
    {
        return family == TaskFamily::Caption || family == TaskFamily::DarkYesNo || isPair();
    }
    /// Every phrasing (the instruction first).
    std::vector<QString> allPhrasings() const;
    /// The phrasing sample `index` is asked with (deterministic).
    QString phrasingFor(std::int64_t index) const;
};

/// A text task's sample: the full prompt and the expected answer, generated deterministically
/// from (seed, task, index).
struct TextSample {
    QString prompt;
    QString answer;
};
TextSample textSample(const TaskSpec &task, std::uint64_t seed, std::int64_t index);

/// The answer words every classifier head shares: the ten Fashion-MNIST class names, "yes", "no",
/// then the newer tasks' words (categories, captions, counts, left/right). A classifier has one
/// output per word up to the highest its experiment's tasks use, so experiments on the original
/// twelve words keep twelve outputs.
const std::vector<QString> &answerVocabulary();
constexpr int kAnswerYes = 10;
constexpr int kAnswerNo = 11;
constexpr int kAnswerCount = 12; ///< the original words (the classic tasks' head)
constexpr int kAnswerTop = 12;
constexpr int kAnswerLegwear = 13;
constexpr int kAnswerFootwear = 14;
constexpr int kAnswerDarkCaption = 15;  ///< + class: "a dark t-shirt", ...
constexpr int kAnswerLightCaption = 25; ///< + class: "a light t-shirt", ...
constexpr int kAnswerZero = 35;         ///< "0", "1", "2"
constexpr int kAnswerLeft = 38;
constexpr int kAnswerRight = 39;
constexpr int kAnswerWordCount = 40;

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
