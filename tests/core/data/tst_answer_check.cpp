// SPDX-License-Identifier: MIT
// The answer checker: exact, format (CoIN's "well formed") and knowledge ("right content")
// accuracy for every task family.
#include "core/data/answer_check.h"
#include "core/data/task_catalog.h"

#include <QTest>

using namespace fcl;

Q_DECLARE_METATYPE(fcl::TaskFamily)
Q_DECLARE_METATYPE(fcl::TextOp)

namespace {

/// The id standing for a user task (TaskFamily::User) in the data rows.
const QString kUserTask = QStringLiteral("user");

TaskSpec userTask()
{
    TaskSpec task;
    task.id = kUserTask;
    task.title = QStringLiteral("A user's file");
    task.instruction = QStringLiteral("What animal is this?");
    task.family = TaskFamily::User;
    return task;
}

} // namespace

class TestAnswerCheck : public QObject {
    Q_OBJECT

private Q_SLOTS:
    /// The rows below assume these families: fail loudly if the catalog changes them.
    void families_data()
    {
        QTest::addColumn<QString>("id");
        QTest::addColumn<TaskFamily>("family");
        QTest::addColumn<TextOp>("op");
        auto row = [](const char *id, TaskFamily family, TextOp op = TextOp::None) {
            QTest::newRow(id) << QString::fromLatin1(id) << family << op;
        };
        row("vl-feet", TaskFamily::YesNo);
        row("vl-what-item", TaskFamily::ClassSubset);
        row("fmnist-split-1", TaskFamily::ClassSubset);
        row("fmnist-rotated", TaskFamily::DomainShift);
        row("vl-left-item", TaskFamily::PairLeft);
        row("vl-category", TaskFamily::Category);
        row("vl-caption", TaskFamily::Caption);
        row("vl-dark", TaskFamily::DarkYesNo);
        row("vl-count-shoes", TaskFamily::PairCount);
        row("vl-brighter", TaskFamily::PairBrighter);
        row("text-reverse", TaskFamily::Text, TextOp::Reverse);
        row("text-sort", TaskFamily::Text, TextOp::Sort);
        row("text-copy", TaskFamily::Text, TextOp::Copy);
        row("text-caesar", TaskFamily::Text, TextOp::Caesar);
        row("text-upper", TaskFamily::Text, TextOp::Upper);
        row("text-add", TaskFamily::Text, TextOp::Add);
        row("text-count", TaskFamily::Text, TextOp::Count);
    }

    void families()
    {
        QFETCH(QString, id);
        QFETCH(TaskFamily, family);
        QFETCH(TextOp, op);
        const TaskSpec *task = findTask(id);
        QVERIFY(task != nullptr);
        QCOMPARE(int(task->family), int(family));
        QCOMPARE(int(task->textOp), int(op));
    }

    void check_data()
    {
        QTest::addColumn<QString>("id");
        QTest::addColumn<QString>("got");
        QTest::addColumn<QString>("want");
        QTest::addColumn<bool>("exact");
        QTest::addColumn<bool>("format");
        QTest::addColumn<bool>("knowledge");
        // "EFK" spells exact/format/knowledge as 0/1.
        auto row = [](const char *name, const char *id, const char *got, const char *want,
                      const char *efk) {
            QTest::newRow(name) << QString::fromLatin1(id) << QString::fromUtf8(got)
                                << QString::fromUtf8(want) << (efk[0] == '1') << (efk[1] == '1')
                                << (efk[2] == '1');
        };
        // YesNo: naming the item is knowledge, the other word is a well-formed wrong answer.
        row("feet: item named", "vl-feet", "sneaker", "yes", "001");
        row("feet: wrong word", "vl-feet", "no", "yes", "010");
        row("feet: exact", "vl-feet", "yes", "yes", "111");
        row("feet: whitespace", "vl-feet", "  yes ", "yes", "111");
        row("feet: inner whitespace", "vl-feet", "ankle \t boot", "yes", "001");
        row("feet: plural, punctuation", "vl-feet", "Sneakers!", "yes", "001");
        row("feet: item of another task", "vl-feet", "a coat", "no", "001");
        row("feet: wrong item", "vl-feet", "a bag", "yes", "000");
        row("feet: two items", "vl-feet", "sandal or sneaker", "yes", "000");
        row("feet: capitalised", "vl-feet", "Yes", "yes", "000");
        // Names.
        row("item: bigram in a phrase", "vl-what-item", "a dark ankle boot", "ankle boot", "001");
        row("item: t-shirt is not shirt", "vl-what-item", "t-shirt", "shirt", "010");
        row("item: exact", "vl-what-item", "shirt", "shirt", "111");
        row("item: capitalised", "vl-what-item", "Shirt", "shirt", "001");
        row("item: t shirt", "vl-what-item", "T shirt", "t-shirt", "001");
        row("item: plural bigram", "vl-what-item", "ankle boots", "ankle boot", "001");
        row("item: half a bigram", "vl-what-item", "boot", "ankle boot", "000");
        row("item: two names", "vl-what-item", "sandal or sneaker", "sandal", "000");
        row("item: category word", "vl-what-item", "top", "t-shirt", "000");
        row("split: name of another task", "fmnist-split-1", "sandal", "t-shirt", "000");
        row("split: the other name", "fmnist-split-1", "trouser", "t-shirt", "010");
        row("rotated: plural", "fmnist-rotated", "trousers", "trouser", "001");
        row("left: in a sentence", "vl-left-item", "The left one is a bag.", "bag", "001");
        row("left: wrong name", "vl-left-item", "bag", "coat", "010");
        // Category: naming an item of the category is knowledge.
        row("category: item named", "vl-category", "sandal", "footwear", "001");
        row("category: wrong word", "vl-category", "bag", "footwear", "010");
        row("category: exact", "vl-category", "top", "top", "111");
        row("category: dress", "vl-category", "a dress", "dress", "001");
        row("category: shirt", "vl-category", "shirt", "top", "001");
        row("category: two items", "vl-category", "sandal or sneaker", "footwear", "000");
        row("category: not a category", "vl-category", "shoes", "footwear", "000");
        // Caption.
        row("caption: wrong shade", "vl-caption", "a light sneaker", "a dark sneaker", "010");
        row("caption: wrong item", "vl-caption", "a dark sandal", "a dark sneaker", "010");
        row("caption: exact", "vl-caption", "a dark sneaker", "a dark sneaker", "111");
        row("caption: capitalised", "vl-caption", "A dark sneaker.", "a dark sneaker", "001");
        row("caption: no article", "vl-caption", "dark sneaker", "a dark sneaker", "001");
        row("caption: no shade", "vl-caption", "a sneaker", "a dark sneaker", "000");
        row("caption: both shades", "vl-caption", "a dark or light sneaker", "a dark sneaker",
            "000");
        row("caption: two items", "vl-caption", "a dark sneaker and sandal", "a dark sneaker",
            "000");
        // DarkYesNo: the shade word is knowledge.
        row("dark: shade named", "vl-dark", "a light coat", "no", "001");
        row("dark: wrong word", "vl-dark", "yes", "no", "010");
        row("dark: capitalised shade", "vl-dark", "Dark.", "yes", "001");
        row("dark: both shades", "vl-dark", "dark and light", "no", "000");
        row("dark: wrong shade", "vl-dark", "a dark coat", "no", "000");
        // PairCount: the first number.
        row("count: word", "vl-count-shoes", "two", "2", "001");
        row("count: digits in a phrase", "vl-count-shoes", "2 shoes", "2", "001");
        row("count: leading zero", "vl-count-shoes", "02", "2", "001");
        row("count: none", "vl-count-shoes", "none", "0", "001");
        row("count: first number", "vl-count-shoes", "two shoes and one bag", "2", "001");
        row("count: wrong number", "vl-count-shoes", "1", "2", "010");
        row("count: out of range", "vl-count-shoes", "3", "2", "000");
        row("count: exact", "vl-count-shoes", "0", "0", "111");
        // PairBrighter.
        row("brighter: punctuation", "vl-brighter", "Left.", "left", "001");
        row("brighter: in a phrase", "vl-brighter", "the left one", "left", "001");
        row("brighter: wrong side", "vl-brighter", "right", "left", "010");
        row("brighter: both sides", "vl-brighter", "left or right", "left", "000");
        // Text: the shape of the answer is the format, only exact answers count as knowledge.
        row("reverse: well formed", "text-reverse", "hello", "olleh", "010");
        row("reverse: exact", "text-reverse", "olleh ", "olleh", "111");
        row("reverse: capitalised", "text-reverse", "Olleh", "olleh", "000");
        row("reverse: too short", "text-reverse", "ab", "olleh", "000");
        row("reverse: too long", "text-reverse", "abcdefgh", "olleh", "000");
        row("sort: well formed", "text-sort", "hello", "ehllo", "010");
        row("copy: well formed", "text-copy", "word", "wordy", "010");
        row("copy: two words", "text-copy", "two words", "wordy", "000");
        row("caesar: well formed", "text-caesar", "ifmmp", "ifmmq", "010");
        row("caesar: capitals", "text-caesar", "IFMMQ", "ifmmq", "000");
        row("upper: well formed", "text-upper", "HELLP", "HELLO", "010");
        row("upper: lower case", "text-upper", "hello", "HELLO", "000");
        row("add: well formed", "text-add", "41", "42", "010");
        row("add: exact", "text-add", "42", "42", "111");
        row("add: three digits", "text-add", "100", "42", "000");
        row("add: words", "text-add", "forty-two", "42", "000");
        row("count letters: well formed", "text-count", "6", "5", "010");
        row("count letters: two digits", "text-count", "10", "5", "000");
        row("count letters: word", "text-count", "five", "5", "000");
        // User task with training answers {cat, dog}: a closed answer set.
        row("user: unknown answer", "user", "cow", "cat", "000");
        row("user: other answer", "user", "dog", "cat", "010");
        row("user: exact", "user", " cat", "cat", "111");
        row("user: capitalised", "user", "Cat", "cat", "000");
    }

    void check()
    {
        QFETCH(QString, id);
        QFETCH(QString, got);
        QFETCH(QString, want);
        QFETCH(bool, exact);
        QFETCH(bool, format);
        QFETCH(bool, knowledge);
        const TaskSpec *builtin = findTask(id);
        const TaskSpec user = userTask();
        QVERIFY(builtin != nullptr || id == kUserTask);
        const TaskSpec &task = builtin != nullptr ? *builtin : user;
        const AnswerChecker checker(
            task, {QStringLiteral("cat"), QStringLiteral("dog"), QStringLiteral("cat")});
        const AnswerCheck result = checker.check(task.phrasingFor(0), got, want);
        QCOMPARE(result.exact, exact);
        QCOMPARE(result.format, format);
        QCOMPARE(result.knowledge, knowledge);
    }

    /// Every answer a built-in task can produce is exact, well formed and knowledgeable for
    /// itself, and well formed (not knowledgeable) when another answer is expected.
    void everyAnswerWordIsWellFormed()
    {
        const std::vector<QString> &words = answerVocabulary();
        for (const TaskSpec &task : builtinTasks()) {
            const AnswerChecker checker(task);
            const std::vector<int> answers = task.answerSet();
            for (int answer : answers) {
                const QString &word = words[static_cast<std::size_t>(answer)];
                const AnswerCheck self = checker.check(task.instruction, word, word);
                QVERIFY2(self.exact && self.format && self.knowledge,
                         qPrintable(task.id + QLatin1Char(' ') + word));
                for (int other : answers) {
                    if (other == answer) {
                        continue;
                    }
                    const QString &want = words[static_cast<std::size_t>(other)];
                    const AnswerCheck wrong = checker.check(task.instruction, word, want);
                    QVERIFY2(
                        !wrong.exact && wrong.format,
                        qPrintable(task.id + QLatin1Char(' ') + word + QLatin1Char('/') + want));
                    // No answer word names the item of another answer: a wrong word is never
                    // knowledge.
                    QVERIFY2(!wrong.knowledge, qPrintable(task.id + QLatin1Char(' ') + word));
                }
            }
        }
    }

    /// The text formats agree with what textSample() generates: every generated answer is well
    /// formed even when another one is expected.
    void textSamplesAreWellFormed()
    {
        int checked = 0;
        for (const TaskSpec &task : builtinTasks()) {
            if (!task.isText()) {
                continue;
            }
            const AnswerChecker checker(task);
            for (std::int64_t index = 0; index < 500; ++index) {
                const TextSample sample = textSample(task, 7, index);
                const AnswerCheck result =
                    checker.check(sample.prompt, sample.answer, QStringLiteral("#"));
                QVERIFY2(result.format && !result.exact && !result.knowledge,
                         qPrintable(task.id + QLatin1Char(' ') + sample.answer));
                ++checked;
            }
        }
        QCOMPARE(checked, 7 * 500);
    }

    /// More than 64 distinct training answers: an open answer set, bounded by the longest.
    void userOpenAnswers()
    {
        std::vector<QString> train;
        for (int i = 0; i < 100; ++i) {
            train.push_back(QStringLiteral("answer %1").arg(i)); // longest: 9 characters
        }
        const AnswerChecker checker(userTask(), train);
        auto format = [&checker](const char *got) {
            return checker.check(QString(), QString::fromLatin1(got), QStringLiteral("answer 1"))
                .format;
        };
        QVERIFY(format("anything"));
        QVERIFY(format("123456789"));
        QVERIFY(!format("1234567890"));
        QVERIFY(!format("   "));
        QVERIFY(!checker.check(QString(), QStringLiteral("answer 2"), QStringLiteral("answer 1"))
                     .knowledge);
        // Exactly 64 distinct answers still make a closed set.
        train.resize(64);
        const AnswerChecker closed(userTask(), train);
        QVERIFY(closed.check(QString(), QStringLiteral("answer 63"), QStringLiteral("answer 1"))
                    .format);
        QVERIFY(!closed.check(QString(), QStringLiteral("anything"), QStringLiteral("answer 1"))
                     .format);
        // No training answers: only exact answers are well formed.
        const AnswerChecker empty(userTask());
        QVERIFY(!empty.check(QString(), QStringLiteral("x"), QStringLiteral("y")).format);
        QVERIFY(empty.check(QString(), QStringLiteral("y"), QStringLiteral("y")).format);
    }

    void mentions_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QList<int>>("labels");
        QTest::newRow("empty") << QString() << QList<int>{};
        QTest::newRow("t-shirt only") << QStringLiteral("a T-Shirt") << QList<int>{0};
        QTest::newRow("shirt and t-shirt") << QStringLiteral("shirt, t-shirt") << QList<int>{0, 6};
        QTest::newRow("tshirt") << QStringLiteral("tshirts") << QList<int>{0};
        QTest::newRow("ankle boot") << QStringLiteral("Ankle  Boot!") << QList<int>{9};
        QTest::newRow("ankle-boot") << QStringLiteral("ankle-boots") << QList<int>{9};
        QTest::newRow("boot alone") << QStringLiteral("a boot, an ankle") << QList<int>{};
        QTest::newRow("plurals") << QStringLiteral("dresses, trousers; sneakers & bags")
                                 << QList<int>{1, 3, 7, 8};
        QTest::newRow("inside a word") << QStringLiteral("coated handbag") << QList<int>{};
        QTest::newRow("hyphens") << QStringLiteral("-coat- --sandal") << QList<int>{4, 5};
        QTest::newRow("repeated") << QStringLiteral("coat coat") << QList<int>{4};
    }

    void mentions()
    {
        QFETCH(QString, text);
        QFETCH(QList<int>, labels);
        const std::vector<int> found = mentionedClasses(text);
        QCOMPARE(QList<int>(found.begin(), found.end()), labels);
    }
};

QTEST_GUILESS_MAIN(TestAnswerCheck)
#include "tst_answer_check.moc"
