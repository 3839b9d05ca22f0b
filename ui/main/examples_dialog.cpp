// SPDX-License-Identifier: MIT
#include "ui/main/examples_dialog.h"

#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSplitter>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace fcl::ui {

ExamplesDialog::ExamplesDialog(const std::vector<PresetInfo> &presets, QWidget *parent)
    : QDialog(parent), m_presets(presets), m_list(new QListWidget(this)),
      m_details(new QTextBrowser(this))
{
    setWindowTitle(tr("Examples"));
    auto *layout = new QVBoxLayout(this);
    auto *intro = new QLabel(tr("Each example is a ready experiment: open one, press Run (F5) and "
                                "watch the plots. The text says what it shows and what to look "
                                "for."),
                             this);
    intro->setWordWrap(true);
    layout->addWidget(intro);
    auto *splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(m_list);
    splitter->addWidget(m_details);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 3);
    layout->addWidget(splitter, 1);
    m_list->setWordWrap(true);
    m_list->setAlternatingRowColors(true);
    m_list->setTextElideMode(Qt::ElideNone);
    for (const PresetInfo &preset : m_presets) {
        auto *item =
            new QListWidgetItem(QStringLiteral("%1\n%2").arg(preset.name, preset.lookFor), m_list);
        item->setToolTip(preset.path);
    }
    m_details->setOpenLinks(false);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Open | QDialogButtonBox::Cancel, this);
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_list, &QListWidget::currentRowChanged, this, &ExamplesDialog::showDetails);
    connect(m_list, &QListWidget::itemDoubleClicked, this, &QDialog::accept);
    if (m_presets.empty()) {
        m_details->setPlainText(tr("No examples were found. They are looked for in "
                                   "$FCL_PRESETS_DIR, in share/fcl-workbench/presets of the "
                                   "installation, and in the source tree's resources/presets."));
        buttons->button(QDialogButtonBox::Open)->setEnabled(false);
    } else {
        m_list->setCurrentRow(0);
    }
    resize(900, 560);
}

QString ExamplesDialog::selectedPath() const
{
    const int row = m_list->currentRow();
    return row >= 0 && row < static_cast<int>(m_presets.size())
               ? m_presets[static_cast<std::size_t>(row)].path
               : QString();
}

void ExamplesDialog::showDetails()
{
    const int row = m_list->currentRow();
    if (row < 0 || row >= static_cast<int>(m_presets.size())) {
        m_details->clear();
        return;
    }
    const PresetInfo &preset = m_presets[static_cast<std::size_t>(row)];
    m_details->setHtml(QStringLiteral("<h3>%1</h3><p>%2</p><p><small>%3</small></p>")
                           .arg(preset.name.toHtmlEscaped(), preset.description.toHtmlEscaped(),
                                preset.path.toHtmlEscaped()));
}

} // namespace fcl::ui
