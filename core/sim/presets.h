// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

#include <vector>

namespace fcl {

/// A shipped example experiment.
struct PresetInfo {
    QString path;        ///< absolute path of the JSON file
    QString id;          ///< the file name without ".json", e.g. "pcft-personal"
    QString name;        ///< the experiment's "name"
    QString description; ///< the experiment's "description" (may be empty)
    /// The description's "Look for …" sentence(s) when it has them, else its first sentence:
    /// one line for a list of examples.
    QString lookFor;
};

/// The shipped presets: $FCL_PRESETS_DIR, else share/fcl-workbench/presets beside the
/// executable's prefix (an installed package), else the source tree's resources/presets.
QString presetsDir();

/// The presets in `dir` (every *.json that parses as an object), "default" first, then by id.
/// Files that do not parse are skipped: the list is for choosing, running reports their errors.
std::vector<PresetInfo> listPresets(const QString &dir = presetsDir());

/// The line a list shows for a description: the text from "Look for" to the end of that
/// sentence's paragraph, without the "(measured, …)" aside; else the first sentence.
QString lookForLine(const QString &description);

} // namespace fcl
