// SPDX-License-Identifier: MIT
#include "core/data/task_catalog.h"

#include <algorithm>

namespace fcl {

int TaskSpec::answerFor(int label) const
{
    if (family == TaskFamily::YesNo) {
        return std::find(yesClasses.begin(), yesClasses.end(), label) != yesClasses.end()
                   ? kAnswerYes
                   : kAnswerNo;
    }
    return label;
}

std::vector<int> TaskSpec::answerSet() const
{
    std::vector<int> answers;
    for (int label : sourceClasses) {
        answers.push_back(answerFor(label));
    }
    std::sort(answers.begin(), answers.end());
    answers.erase(std::unique(answers.begin(), answers.end()), answers.end());
    return answers;
}

const std::vector<QString> &answerVocabulary()
{
    static const std::vector<QString> words = {
        QStringLiteral("t-shirt"),    QStringLiteral("trouser"), QStringLiteral("pullover"),
        QStringLiteral("dress"),      QStringLiteral("coat"),    QStringLiteral("sandal"),
        QStringLiteral("shirt"),      QStringLiteral("sneaker"), QStringLiteral("bag"),
        QStringLiteral("ankle boot"), QStringLiteral("yes"),     QStringLiteral("no")};
    return words;
}

const std::vector<TaskSpec> &builtinTasks()
{
    static const std::vector<TaskSpec> tasks = [] {
        const QString what = QStringLiteral("What item is this?");
        const std::vector<int> all = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        std::vector<TaskSpec> list;
        auto subset = [&](const char *id, const char *title, std::vector<int> classes) {
            list.push_back({QString::fromLatin1(id),
                            QString::fromLatin1(title),
                            what,
                            TaskFamily::ClassSubset,
                            ImageTransform::None,
                            std::move(classes),
                            {}});
        };
        // Class-incremental splits: five tasks of two classes each.
        subset("fmnist-split-1", "T-shirt vs trouser", {0, 1});
        subset("fmnist-split-2", "Pullover vs dress", {2, 3});
        subset("fmnist-split-3", "Coat vs sandal", {4, 5});
        subset("fmnist-split-4", "Shirt vs sneaker", {6, 7});
        subset("fmnist-split-5", "Bag vs ankle boot", {8, 9});
        // Thematic groups for heterogeneous designs.
        subset("fmnist-tops", "Upper-body garments (t-shirt, pullover, coat, shirt)", {0, 2, 4, 6});
        subset("fmnist-shoes", "Footwear (sandal, sneaker, ankle boot)", {5, 7, 9});
        subset("fmnist-other", "Trouser, dress, bag", {1, 3, 8});
        subset("fmnist-all", "All ten classes", all);
        // Yes/no attribute questions, balanced between yes and no classes.
        list.push_back({QStringLiteral("fmnist-is-footwear"),
                        QStringLiteral("Yes/no: footwear vs tops"),
                        QStringLiteral("Is this footwear?"),
                        TaskFamily::YesNo,
                        ImageTransform::None,
                        {5, 7, 9, 0, 2, 6},
                        {5, 7, 9}});
        list.push_back({QStringLiteral("fmnist-is-upper-body"),
                        QStringLiteral("Yes/no: worn on the upper body"),
                        QStringLiteral("Is this worn on the upper body?"),
                        TaskFamily::YesNo,
                        ImageTransform::None,
                        {0, 2, 4, 6, 1, 5, 8, 9},
                        {0, 2, 4, 6}});
        // Domain shifts of the full ten-class question.
        auto shifted = [&](const char *id, const char *title, const char *instruction,
                           ImageTransform transform) {
            list.push_back({QString::fromLatin1(id),
                            QString::fromLatin1(title),
                            QString::fromLatin1(instruction),
                            TaskFamily::DomainShift,
                            transform,
                            all,
                            {}});
        };
        shifted("fmnist-rotated", "All classes, rotated 90 degrees",
                "What item is this (rotated photo)?", ImageTransform::Rotate90);
        shifted("fmnist-inverted", "All classes, inverted greys",
                "What item is this (negative photo)?", ImageTransform::Invert);
        shifted("fmnist-noisy", "All classes, heavy Gaussian noise",
                "What item is this (noisy photo)?", ImageTransform::Noise);
        return list;
    }();
    return tasks;
}

const TaskSpec *findTask(const QString &id)
{
    for (const TaskSpec &task : builtinTasks()) {
        if (task.id == id) {
            return &task;
        }
    }
    return nullptr;
}

TaskSamples selectTaskSamples(const TaskSpec &task, const ImageSet &set)
{
    bool wanted[10] = {};
    for (int label : task.sourceClasses) {
        wanted[label] = true;
    }
    TaskSamples samples;
    for (int i = 0; i < set.count; ++i) {
        const int label = set.labels[static_cast<std::size_t>(i)];
        if (wanted[label]) {
            samples.indices.push_back(i);
            samples.answers.push_back(task.answerFor(label));
        }
    }
    return samples;
}

quint32 stableHash(const QString &text)
{
    quint32 hash = 2166136261u;
    for (char byte : text.toUtf8()) {
        hash ^= static_cast<quint8>(byte);
        hash *= 16777619u;
    }
    return hash;
}

} // namespace fcl
