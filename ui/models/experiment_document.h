// SPDX-License-Identifier: MIT
#pragma once

#include "core/sim/experiment.h"
#include "core/sim/timeline.h"

#include <QJsonObject>
#include <QObject>
#include <QUndoStack>

namespace fcl::ui {

/// The experiment being designed: a JSON document (the same format `fcl run` reads) with an undo
/// stack. Every edit goes through apply(), which pushes a snapshot command, so undo restores the
/// document exactly. GUI thread only.
class ExperimentDocument : public QObject {
    Q_OBJECT

public:
    explicit ExperimentDocument(QObject *parent = nullptr);

    const QJsonObject &json() const { return m_json; }
    QString path() const { return m_path; }
    bool isModified() const { return !m_undo.isClean(); }
    QUndoStack *undoStack() { return &m_undo; }

    /// Replaces the document (stages normalised to {client: task} objects); clears undo history.
    void load(const QJsonObject &json, const QString &path = {});
    bool loadFile(const QString &path, QString *error);
    bool saveFile(const QString &path, QString *error);

    /// Pushes an undoable change to `after`.
    void apply(const QJsonObject &after, const QString &description);
    /// Replaces the document by a generated one (an FCIT scenario's expansion), its stages
    /// normalised as load() does; one undo step.
    void applyGenerated(const QJsonObject &after, const QString &description);

    // Convenience edits (each one undo step).
    void setTopLevel(const QString &key, const QJsonValue &value);
    void setSectionValue(const QString &section, const QString &key, const QJsonValue &value);
    /// Selects a method; parameters the new method does not take are dropped.
    void setSectionMethod(const QString &section, const QString &method);
    void setClientValue(int client, const QString &key, const QJsonValue &value);
    void addClient();
    void duplicateClient(int client);
    void removeClient(int client);

    QStringList clientNames() const;
    int stageCount() const;
    Timeline timeline() const;
    /// Per stage, its form: mixed (every client trains one group of tasks), positional (FCIT's
    /// heterogeneous setting: the i-th sampled client trains the i-th unit) or per client.
    std::vector<StageForm> stageForms() const;
    void setTimeline(const Timeline &timeline, const QString &description);
    void setCell(int stage, int client, const QString &task);
    void addStage();
    void removeStage(int stage);

    /// Parses the document and checks partition feasibility: every error names its field.
    Result<Experiment> validate() const;

Q_SIGNALS:
    void changed();

private:
    friend class SnapshotCommand;
    void setJson(const QJsonObject &json);

    QJsonObject m_json;
    QString m_path;
    QUndoStack m_undo;
};

} // namespace fcl::ui
