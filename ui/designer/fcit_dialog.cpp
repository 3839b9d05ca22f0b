// SPDX-License-Identifier: MIT
#include "ui/designer/fcit_dialog.h"

#include "core/data/task_catalog.h"
#include "core/sim/fcit_scenario.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include <cmath>

namespace fcl::ui {

namespace {

const char *const kDefaultTasks = "vl-what-item, vl-feet, vl-category, vl-dark, vl-upper, "
                                  "vl-brighter, vl-count-shoes, vl-left-item";
const char *const kDefaultGroups =
    "vl-feet+vl-upper, vl-dark+vl-brighter, vl-what-item+vl-category, "
    "vl-count-shoes+vl-left-item";

} // namespace

QJsonObject withScenario(QJsonObject document, const QJsonObject &scenario)
{
    for (const char *generated : {"clients", "stages", "partition"}) {
        document.remove(QLatin1String(generated));
    }
    QJsonObject federated = document.value(QStringLiteral("federated")).toObject();
    federated.remove(QStringLiteral("participation"));
    document.insert(QStringLiteral("federated"), federated);
    document.insert(QStringLiteral("fcit"), scenario);
    return document;
}

FcitDialog::FcitDialog(const QJsonObject &document, QWidget *parent)
    : QDialog(parent), m_document(document)
{
    setWindowTitle(tr("FCIT scenario"));
    auto *layout = new QVBoxLayout(this);
    auto *intro = new QLabel(
        tr("FCIT's scenarios (Guo et al., ICCV 2025). Replaces the clients, the timeline and the "
           "partition: each task's samples are split over all clients by a Dirichlet(beta) "
           "quantity skew, and a few clients train each round."),
        this);
    intro->setWordWrap(true);
    layout->addWidget(intro);
    auto *form = new QFormLayout;
    m_setting = new QComboBox(this);
    m_setting->addItem(tr("homogeneous: every client trains the stage's task"),
                       QStringLiteral("homogeneous"));
    m_setting->addItem(tr("heterogeneous: the i-th client of a round trains the i-th task"),
                       QStringLiteral("heterogeneous"));
    m_setting->addItem(tr("centralized: one client, all data at once (upper bound)"),
                       QStringLiteral("centralized"));
    m_granularity = new QComboBox(this);
    m_granularity->addItem(tr("task: one task per stage"), QStringLiteral("task"));
    m_granularity->addItem(tr("capability: a group of tasks per stage"),
                           QStringLiteral("capability"));
    m_units = new QLineEdit(QString::fromLatin1(kDefaultTasks), this);
    QStringList ids;
    for (const TaskSpec &task : builtinTasks()) {
        ids << task.id;
    }
    m_units->setToolTip(tr("Tasks in order, separated by commas; in a capability scenario each "
                           "item is a group, its tasks joined by +. Tasks: %1")
                            .arg(ids.join(QStringLiteral(", "))));
    m_lists = new QComboBox(this);
    m_lists->addItem(tr("official (FCIT's lists: 8 tasks or 4 groups, 5 a round)"),
                     QStringLiteral("official"));
    m_lists->addItem(tr("seeded (drawn with the experiment's seed)"), QStringLiteral("seeded"));
    const auto spin = [this](int minimum, int maximum, int value) {
        auto *box = new QSpinBox(this);
        box->setRange(minimum, maximum);
        box->setValue(value);
        return box;
    };
    m_clients = spin(1, 10000, 50);
    m_perRound = spin(1, 10000, 5);
    m_samples = spin(1, 10000000, 3000);
    m_beta = new QDoubleSpinBox(this);
    m_beta->setRange(0.001, 10000);
    m_beta->setDecimals(3);
    m_beta->setValue(1.0);
    m_minSize = spin(1, 100000, 1);
    m_variant = new QComboBox(this);
    m_variant->addItem(tr("fixed"), QStringLiteral("fixed"));
    m_variant->addItem(tr("faithful (beta is the minimum size; int(p N) sizes)"),
                       QStringLiteral("faithful"));
    form->addRow(tr("Setting"), m_setting);
    form->addRow(tr("Granularity"), m_granularity);
    form->addRow(tr("Tasks"), m_units);
    form->addRow(tr("Heterogeneous lists"), m_lists);
    form->addRow(tr("Clients"), m_clients);
    form->addRow(tr("Clients per round"), m_perRound);
    form->addRow(tr("Samples per task"), m_samples);
    form->addRow(tr("Dirichlet beta"), m_beta);
    form->addRow(tr("Minimum per client"), m_minSize);
    form->addRow(tr("Variant"), m_variant);
    layout->addLayout(form);
    m_summary = new QLabel(this);
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_summary);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Generate"));
    layout->addWidget(m_buttons);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    for (QComboBox *box : {m_setting, m_granularity, m_lists, m_variant}) {
        connect(box, &QComboBox::currentIndexChanged, this, &FcitDialog::update);
    }
    for (QSpinBox *box : {m_clients, m_perRound, m_samples, m_minSize}) {
        connect(box, &QSpinBox::valueChanged, this, &FcitDialog::update);
    }
    connect(m_beta, &QDoubleSpinBox::valueChanged, this, &FcitDialog::update);
    connect(m_units, &QLineEdit::textChanged, this, &FcitDialog::update);
    connect(m_granularity, &QComboBox::currentIndexChanged, this, [this] {
        // Offer the other list's default when the user has not typed one of their own.
        const bool capability = m_granularity->currentData().toString() == u"capability";
        const QString untouched = QString::fromLatin1(capability ? kDefaultTasks : kDefaultGroups);
        if (m_units->text() == untouched) {
            m_units->setText(QString::fromLatin1(capability ? kDefaultGroups : kDefaultTasks));
        }
    });
    update();
}

QJsonObject FcitDialog::scenario() const
{
    const bool capability = m_granularity->currentData().toString() == u"capability";
    QJsonArray units;
    for (const QString &item : m_units->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        if (!capability) {
            units.append(item.trimmed());
            continue;
        }
        QJsonArray group;
        for (const QString &task : item.split(QLatin1Char('+'), Qt::SkipEmptyParts)) {
            group.append(task.trimmed());
        }
        units.append(group);
    }
    QJsonObject block{{QStringLiteral("setting"), m_setting->currentData().toString()},
                      {QStringLiteral("granularity"), m_granularity->currentData().toString()},
                      {capability ? QStringLiteral("groups") : QStringLiteral("tasks"), units},
                      {QStringLiteral("clients"), m_clients->value()},
                      {QStringLiteral("per_round"), m_perRound->value()},
                      {QStringLiteral("samples_per_task"), m_samples->value()},
                      {QStringLiteral("beta"), m_beta->value()},
                      {QStringLiteral("min_size"), m_minSize->value()},
                      {QStringLiteral("variant"), m_variant->currentData().toString()}};
    if (m_setting->currentData().toString() == u"heterogeneous") {
        block.insert(QStringLiteral("het_lists"), m_lists->currentData().toString());
    }
    return block;
}

QJsonObject FcitDialog::expanded() const
{
    return m_expanded;
}

QString FcitDialog::summary() const
{
    return m_summary->text();
}

void FcitDialog::update()
{
    m_lists->setEnabled(m_setting->currentData().toString() == u"heterogeneous");
    const QJsonObject document = withScenario(m_document, scenario());
    const auto seed =
        static_cast<std::uint64_t>(document.value(QStringLiteral("seed")).toDouble(1));
    auto result = expandFcitScenario(document, seed);
    m_expanded = result ? result.value() : QJsonObject();
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(static_cast<bool>(result));
    if (!result) {
        m_summary->setText(tr("Cannot generate: %1").arg(result.errors().front().toString()));
        return;
    }
    const QJsonObject &e = m_expanded;
    const QJsonArray stages = e.value(QStringLiteral("stages")).toArray();
    const int clients = static_cast<int>(e.value(QStringLiteral("clients")).toArray().size());
    const double participation = e.value(QStringLiteral("federated"))
                                     .toObject()
                                     .value(QStringLiteral("participation"))
                                     .toDouble();
    const bool positional =
        !stages.isEmpty() && stages.first().toObject().contains(QStringLiteral("positional"));
    const bool centralized = m_setting->currentData().toString() == u"centralized";
    m_summary->setText(
        tr("Generates %1 client(s), %2 a round, and %3 stage(s)%4; each client holds about %5 "
           "samples of each task it trains.")
            .arg(clients)
            .arg(static_cast<int>(std::lround(participation * clients)))
            .arg(stages.size())
            .arg(positional ? tr(" whose tasks go by position in the round") : QString())
            .arg(e.value(QStringLiteral("clients"))
                     .toArray()
                     .first()
                     .toObject()
                     .value(QStringLiteral("samples_per_task"))
                     .toInt()) +
        (centralized ? tr(" federated.rounds_per_stage becomes %1 (a round is one pass over all "
                          "the data).")
                           .arg(e.value(QStringLiteral("federated"))
                                    .toObject()
                                    .value(QStringLiteral("rounds_per_stage"))
                                    .toInt())
                     : QString()));
}

} // namespace fcl::ui
