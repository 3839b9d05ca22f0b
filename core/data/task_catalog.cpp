// SPDX-License-Identifier: MIT
#include "core/data/task_catalog.h"

#include "core/common/rng.h"

#include <algorithm>

namespace fcl {

namespace {

/// The category question's answer for each class: tops, legwear, dress, footwear, bag.
constexpr int kCategoryOf[10] = {kAnswerTop, kAnswerLegwear,  kAnswerTop, 3,
                                 kAnswerTop, kAnswerFootwear, kAnswerTop, kAnswerFootwear,
                                 8,          kAnswerFootwear};

constexpr std::uint64_t kPhrasingSalt = 0x9e3779b97f4a7c15ull;

} // namespace

int TaskSpec::answerFor(int label) const
{
    return answerForImages(label, false);
}

int TaskSpec::answerForImages(int label, bool light, int rightLabel, bool rightLight,
                              bool leftBrighter) const
{
    auto isYes = [this](int l) {
        return std::find(yesClasses.begin(), yesClasses.end(), l) != yesClasses.end();
    };
    switch (family) {
    case TaskFamily::YesNo:
        return isYes(label) ? kAnswerYes : kAnswerNo;
    case TaskFamily::ClassSubset:
    case TaskFamily::DomainShift:
        return label;
    case TaskFamily::Category:
        return kCategoryOf[label];
    case TaskFamily::Caption:
        return (light ? kAnswerLightCaption : kAnswerDarkCaption) + label;
    case TaskFamily::DarkYesNo:
        return light ? kAnswerNo : kAnswerYes;
    case TaskFamily::PairCount:
        return kAnswerZero + (isYes(label) ? 1 : 0) + (isYes(rightLabel) ? 1 : 0);
    case TaskFamily::PairLeft:
        return label;
    case TaskFamily::PairBrighter:
        return leftBrighter ? kAnswerLeft : kAnswerRight;
    case TaskFamily::Text:
    case TaskFamily::User:
        return -1;
    }
    Q_UNUSED(rightLight);
    return -1;
}

std::vector<QString> TaskSpec::allPhrasings() const
{
    std::vector<QString> all = {instruction};
    all.insert(all.end(), phrasings.begin(), phrasings.end());
    return all;
}

QString TaskSpec::phrasingFor(std::int64_t index) const
{
    if (phrasings.empty()) {
        return instruction;
    }
    const auto k = mixIndex(index, kPhrasingSalt) % (phrasings.size() + 1);
    return k == 0 ? instruction : phrasings[k - 1];
}

std::vector<int> TaskSpec::answerSet() const
{
    std::vector<int> answers;
    switch (family) {
    case TaskFamily::Text:
    case TaskFamily::User:
        return answers;
    case TaskFamily::Caption:
        for (int label : sourceClasses) {
            answers.push_back(kAnswerDarkCaption + label);
            answers.push_back(kAnswerLightCaption + label);
        }
        break;
    case TaskFamily::DarkYesNo:
        answers = {kAnswerYes, kAnswerNo};
        break;
    case TaskFamily::PairCount:
        answers = {kAnswerZero, kAnswerZero + 1, kAnswerZero + 2};
        break;
    case TaskFamily::PairBrighter:
        answers = {kAnswerLeft, kAnswerRight};
        break;
    default:
        for (int label : sourceClasses) {
            answers.push_back(answerFor(label));
        }
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
    static const std::vector<QString> all = [] {
        std::vector<QString> list = words;
        list.push_back(QStringLiteral("top"));
        list.push_back(QStringLiteral("legwear"));
        list.push_back(QStringLiteral("footwear"));
        for (const char *shade : {"dark", "light"}) {
            for (int label = 0; label < 10; ++label) {
                list.push_back(QStringLiteral("a %1 %2").arg(QLatin1String(shade), words[label]));
            }
        }
        for (const char *word : {"0", "1", "2", "left", "right"}) {
            list.push_back(QString::fromLatin1(word));
        }
        Q_ASSERT(list.size() == kAnswerWordCount);
        return list;
    }();
    return all;
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
                            {},
                            {},
                            TextOp::None});
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
                        {5, 7, 9},
                        {},
                        TextOp::None});
        list.push_back({QStringLiteral("fmnist-is-upper-body"),
                        QStringLiteral("Yes/no: worn on the upper body"),
                        QStringLiteral("Is this worn on the upper body?"),
                        TaskFamily::YesNo,
                        ImageTransform::None,
                        {0, 2, 4, 6, 1, 5, 8, 9},
                        {0, 2, 4, 6},
                        {},
                        TextOp::None});
        // Domain shifts of the full ten-class question.
        auto shifted = [&](const char *id, const char *title, const char *instruction,
                           ImageTransform transform) {
            list.push_back({QString::fromLatin1(id),
                            QString::fromLatin1(title),
                            QString::fromLatin1(instruction),
                            TaskFamily::DomainShift,
                            transform,
                            all,
                            {},
                            {},
                            TextOp::None});
        };
        shifted("fmnist-rotated", "All classes, rotated 90 degrees",
                "What item is this (rotated photo)?", ImageTransform::Rotate90);
        shifted("fmnist-inverted", "All classes, inverted greys",
                "What item is this (negative photo)?", ImageTransform::Invert);
        shifted("fmnist-noisy", "All classes, heavy Gaussian noise",
                "What item is this (noisy photo)?", ImageTransform::Noise);

        // Instruction tasks (several phrasings each), made for generative backbones but open to
        // classifiers too (their head grows to the words used). Some share answers (what-item,
        // left-item, rotated), some reuse yes/no with another meaning (feet, upper, dark).
        auto vl = [&](const char *id, const char *title, TaskFamily family,
                      std::vector<const char *> asked, std::vector<int> classes,
                      std::vector<int> yes = {}, ImageTransform transform = ImageTransform::None) {
            TaskSpec spec{QString::fromLatin1(id),
                          QString::fromLatin1(title),
                          QString::fromLatin1(asked.front()),
                          family,
                          transform,
                          std::move(classes),
                          std::move(yes),
                          {},
                          TextOp::None};
            for (std::size_t k = 1; k < asked.size(); ++k) {
                spec.phrasings.push_back(QString::fromLatin1(asked[k]));
            }
            list.push_back(std::move(spec));
        };
        vl("vl-what-item", "Name the item (4 phrasings)", TaskFamily::ClassSubset,
           {"What item is this?", "Name this item.", "What is in the picture?",
            "Which garment is shown?"},
           all);
        vl("vl-category", "Top, legwear, dress, footwear or bag?", TaskFamily::Category,
           {"Which category is this?", "Is it a top, legwear, a dress, footwear or a bag?"}, all);
        vl("vl-feet", "Yes/no: worn on the feet", TaskFamily::YesNo,
           {"Is it worn on the feet?", "Does this go on your feet?"}, {5, 7, 9, 0, 1, 8},
           {5, 7, 9});
        vl("vl-upper", "Yes/no: worn on the upper body", TaskFamily::YesNo,
           {"Is it worn on the upper body?", "Would you wear this on your torso?"},
           {0, 2, 4, 6, 1, 5, 8, 9}, {0, 2, 4, 6});
        vl("vl-caption", "Short caption: shade and item (\"a dark sneaker\")", TaskFamily::Caption,
           {"Describe the image briefly.", "Write a short caption."}, all);
        vl("vl-dark", "Yes/no: darker than usual for its kind", TaskFamily::DarkYesNo,
           {"Is this item dark?", "Is it a dark one?"}, all);
        vl("vl-count-shoes", "Two items: how many are footwear (0, 1, 2)", TaskFamily::PairCount,
           {"How many shoes are there?", "Count the footwear."}, all, {5, 7, 9});
        vl("vl-left-item", "Two items: name the left one", TaskFamily::PairLeft,
           {"What is the left item?", "Name the item on the left."}, all);
        vl("vl-brighter", "Two items: which is brighter, left or right", TaskFamily::PairBrighter,
           {"Which item is brighter, left or right?", "Left or right: which is lighter?"}, all);
        vl("vl-rotated", "Name the item, photo rotated 90 degrees", TaskFamily::DomainShift,
           {"What item is this?", "Name this item."}, all, {}, ImageTransform::Rotate90);

        // Text-only tasks: inputs generated from the experiment's seed.
        auto text = [&](const char *id, const char *title, TextOp op,
                        std::vector<const char *> templates) {
            TaskSpec spec{QString::fromLatin1(id),
                          QString::fromLatin1(title),
                          QString::fromLatin1(templates.front()),
                          TaskFamily::Text,
                          ImageTransform::None,
                          all,
                          {},
                          {},
                          TextOp::None};
            for (std::size_t k = 1; k < templates.size(); ++k) {
                spec.phrasings.push_back(QString::fromLatin1(templates[k]));
            }
            spec.textOp = op;
            list.push_back(std::move(spec));
        };
        text("text-reverse", "Reverse a word", TextOp::Reverse,
             {"Reverse: %1", "Write backwards: %1"});
        text("text-sort", "Sort a word's letters", TextOp::Sort,
             {"Sort the letters: %1", "Alphabetical order: %1"});
        text("text-copy", "Copy a word", TextOp::Copy, {"Copy: %1", "Repeat exactly: %1"});
        text("text-add", "Add two numbers below 50", TextOp::Add, {"Add: %1", "What is %1?"});
        text("text-count", "Count a word's letters", TextOp::Count,
             {"Count the letters: %1", "How many letters in %1?"});
        text("text-caesar", "Shift each letter by one (z to a)", TextOp::Caesar,
             {"Shift each letter by one: %1", "Caesar +1: %1"});
        text("text-upper", "Write a word in capitals", TextOp::Upper,
             {"Uppercase: %1", "Capitalise: %1"});
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

TextSample textSample(const TaskSpec &task, std::uint64_t seed, std::int64_t index)
{
    Rng rng(deriveSeed(seed, {11, stableHash(task.id), static_cast<std::uint64_t>(index)}));
    QString input;
    QString answer;
    if (task.textOp == TextOp::Add) {
        const auto a = static_cast<int>(uniformIndex(rng, 50));
        const auto b = static_cast<int>(uniformIndex(rng, 50));
        input = QStringLiteral("%1+%2").arg(a).arg(b);
        answer = QString::number(a + b);
    } else {
        const int length = 3 + static_cast<int>(uniformIndex(rng, 5));
        for (int i = 0; i < length; ++i) {
            input.append(QLatin1Char(static_cast<char>('a' + uniformIndex(rng, 26))));
        }
        switch (task.textOp) {
        case TextOp::Reverse:
            answer = input;
            std::reverse(answer.begin(), answer.end());
            break;
        case TextOp::Sort:
            answer = input;
            std::sort(answer.begin(), answer.end());
            break;
        case TextOp::Count:
            answer = QString::number(length);
            break;
        case TextOp::Caesar:
            for (const QChar c : input) {
                answer.append(QLatin1Char(static_cast<char>('a' + (c.toLatin1() - 'a' + 1) % 26)));
            }
            break;
        case TextOp::Upper:
            answer = input.toUpper();
            break;
        default:
            answer = input;
        }
    }
    return {task.phrasingFor(index).arg(input), answer};
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
