// SPDX-License-Identifier: MIT
#pragma once

#include "core/common/error.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <memory>
#include <vector>

namespace fcl {

/// A task made from a user's file, as an experiment's "datasets" entry describes it. Three
/// formats, told apart by the file name:
/// - `*.jsonl`: instructions in the Alpaca convention, one JSON object per line with
///   "instruction", optional "input" and "output"; optional "image": a path to a 28x28 grayscale
///   PNG (relative to the JSONL file) or an integer index into the IDX image file `images`
///   (Fashion-MNIST's training images when `images` is empty).
/// - an IDX image file (`*-idx3-ubyte[.gz]`) with its label file in `labels`: a labelled image set.
/// - `*.csv`: a labelled image set, each row `path,label` (a PNG relative to the CSV) or
///   `label,p1,...,p784` (pixel values 0-255); a first row starting with "path", "label", "file"
///   or "image" is a header.
/// Labelled image sets become classification tasks: the prompt is `instruction`, the answer the
/// label's name (`classes[label]` for numeric labels when given, else the label as written).
struct UserTaskSource {
    QString id;
    QString file;   ///< absolute once the experiment file is read
    QString labels; ///< IDX label file (IDX image sets)
    QString images; ///< IDX image file that JSONL integer "image" values index
    QString instruction = QStringLiteral("What is this?");
    QStringList classes;
    double testFraction = 0.2;
    QString sha256; ///< the file's hash a run recorded; checked when set

    QJsonObject toJson() const;
};

/// One usable sample: the prompt the model is asked ("instruction" or "instruction input"), the
/// expected answer, and its image (784 gray bytes) if it has one.
struct UserSample {
    QString prompt;
    QString answer;
    int answerIndex = 0; ///< the position of `answer` in UserTaskData::answers
    std::vector<std::uint8_t> image;

    bool hasImage() const { return !image.empty(); }
};

/// A loaded user task, split into train and test by the experiment's seed.
struct UserTaskData {
    QString id;
    QString format; ///< "instructions", "idx" or "csv"
    QString sha256; ///< of `file`
    /// What the task asks: `instruction` for labelled image sets, the first sample's prompt for
    /// instruction files (a classifier receives the code of this text).
    QString instruction;
    std::vector<UserSample> train;
    std::vector<UserSample> test;
    QStringList answers; ///< distinct answers in order of first appearance in the file
    int withImages = 0;  ///< samples that have an image
    int longestPrompt = 0;
    int longestAnswer = 0;

    int size() const { return static_cast<int>(train.size() + test.size()); }
};

/// Reads, checks and splits a user task. Every broken line is reported with file and line number
/// and why (at most 50 listed, then how many more); a file with any broken line, or with fewer
/// than 2 usable samples, is an error as a whole: nothing is half-imported. The split shuffles
/// the samples with a generator seeded by (seed, id) and puts round(testFraction * n) of them
/// (at least one, at most n - 1) in the test part. When `source.sha256` is set, a file whose hash
/// differs is an error (the data changed since the run recorded it). Results are cached by path,
/// size, modification time and options, so validating an experiment repeatedly is cheap.
Result<std::shared_ptr<const UserTaskData>> loadUserTask(const UserTaskSource &source,
                                                         std::uint64_t seed);

/// Parses one "datasets" entry; `baseDir` resolves relative paths (empty: the current directory).
/// Errors name `path` and the field.
Result<UserTaskSource> parseUserTaskSource(const QJsonObject &object, const QString &path,
                                           const QString &baseDir);

} // namespace fcl
