// SPDX-License-Identifier: MIT
#pragma once

#include "core/sim/ask.h"

#include <QDialog>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QThread;

namespace fcl {

/// "Ask the model": for one stored run, type an instruction, pick an image (a task's test sample,
/// a Fashion-MNIST test image or a PNG, also dropped on the dialog) and a model (global or a
/// client's), and see the answer of the untrained model and of the model after every stage side
/// by side. The question runs on a worker thread with its own database connection.
class AskDialog : public QDialog {
    Q_OBJECT

public:
    AskDialog(const QString &databasePath, qint64 runId, QWidget *parent = nullptr);
    ~AskDialog() override;

    /// For tests and scripting: choose the image source ("none", "test", "png" or a task id),
    /// the index or PNG path, and the instruction.
    void setQuestion(const QString &source, const QString &indexOrPath, const QString &instruction);

public Q_SLOTS:
    void ask();

Q_SIGNALS:
    /// Emitted when an answer (or an error) has been shown.
    void answered(bool ok);

protected:
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;

private:
    void sourceChanged();
    void showResult(const Result<AskResult> &result);

    QString m_databasePath;
    qint64 m_runId;
    QString m_pngPath;
    QLineEdit *m_instruction;
    QComboBox *m_source;
    QSpinBox *m_index;
    QPushButton *m_openPng;
    QComboBox *m_model;
    QPushButton *m_askButton;
    QLabel *m_image;
    QLabel *m_summary;
    QTableWidget *m_answers;
    QThread *m_worker = nullptr;
};

} // namespace fcl
