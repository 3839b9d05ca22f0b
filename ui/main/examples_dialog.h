// SPDX-License-Identifier: MIT
#pragma once

#include "core/sim/presets.h"

#include <QDialog>

#include <vector>

class QListWidget;
class QTextBrowser;

namespace fcl::ui {

/// The shipped example experiments: a list with each one's "look for" line, the chosen one's
/// whole description beside it, and Open. Shown at a start without a file, and from File.
class ExamplesDialog : public QDialog {
    Q_OBJECT

public:
    explicit ExamplesDialog(const std::vector<PresetInfo> &presets, QWidget *parent = nullptr);
    /// The chosen preset's file, or empty.
    QString selectedPath() const;
    QListWidget *list() const { return m_list; }
    QTextBrowser *details() const { return m_details; }

private:
    void showDetails();

    std::vector<PresetInfo> m_presets;
    QListWidget *m_list;
    QTextBrowser *m_details;
};

} // namespace fcl::ui
