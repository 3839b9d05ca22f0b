// SPDX-License-Identifier: MIT
#pragma once

#include "ui/models/experiment_document.h"

#include <QWidget>

class QLabel;
class QListWidget;
class QListWidgetItem;
class QSpinBox;
class QTableWidget;
class QTabWidget;

namespace fcl::ui {

class MethodPanel;
class PartitionPreview;
class TaskPalette;
class TimelineGrid;

/// The experiment designer: task palette, clients table, timeline grid, registry-generated method
/// forms, inline validation and the partition preview. Edits go to the ExperimentDocument; the
/// panel redraws from it on every change (so undo/redo just works). GUI thread.
class DesignerPanel : public QWidget {
    Q_OBJECT

public:
    explicit DesignerPanel(ExperimentDocument *document, QWidget *parent = nullptr);

    bool isValid() const { return m_valid; }
    QStringList errors() const { return m_errors; }
    TimelineGrid *timeline() const { return m_timeline; }
    QTableWidget *clientsTable() const { return m_clients; }
    MethodPanel *methods() const { return m_methods; }
    PartitionPreview *preview() const { return m_preview; }
    /// The experiment's description (what it shows, what to look for); hidden when it has none.
    QLabel *description() const { return m_description; }
    void makeHomogeneous();
    void makeHeterogeneous();
    /// Opens "FCIT scenario…"; on Generate, the document becomes the scenario's expansion.
    void openFcitScenario();
    /// The validation list (click an error to go to its cell).
    QListWidget *validationList() const { return m_validation; }

Q_SIGNALS:
    void validityChanged(bool valid);

private:
    /// Where an error points in the tables, and its text in the tables' terms: "Client 1
    /// (clinic-a), Dropout: …" for clients[0].dropout (JSON counts from 0, the table from 1).
    struct ErrorCell {
        QTableWidget *table = nullptr; ///< null: the error has no cell
        int row = -1;
        int column = -1;
        QString text;
    };
    ErrorCell errorCell(const Error &error) const;
    void goToErrorCell(QListWidgetItem *item);
    void refresh();
    void refreshClients();
    void clientEdited(int row, int column);
    int selectedClient() const;

    ExperimentDocument *m_document;
    QLabel *m_description;
    TaskPalette *m_palette;
    QTableWidget *m_clients;
    TimelineGrid *m_timeline;
    QSpinBox *m_heterogeneousSeed;
    QListWidget *m_validation;
    QTabWidget *m_lowerTabs;
    PartitionPreview *m_preview;
    MethodPanel *m_methods;
    bool m_valid = false;
    bool m_updating = false;
    QStringList m_errors;
};

} // namespace fcl::ui
