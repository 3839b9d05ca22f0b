// SPDX-License-Identifier: MIT
#include "core/sim/registry.h"

namespace fcl {
namespace {

using Type = ParamDescriptor::Type;

ParamDescriptor intParam(const char *name, int minimum, int maximum, int defaultValue,
                         const char *help)
{
    ParamDescriptor p;
    p.name = QString::fromLatin1(name);
    p.type = Type::Int;
    p.minimum = minimum;
    p.maximum = maximum;
    p.defaultValue = defaultValue;
    p.help = QString::fromUtf8(help);
    return p;
}

ParamDescriptor doubleParam(const char *name, double minimum, double maximum, double defaultValue,
                            const char *help, bool minExclusive = false)
{
    ParamDescriptor p;
    p.name = QString::fromLatin1(name);
    p.type = Type::Double;
    p.minimum = minimum;
    p.maximum = maximum;
    p.minExclusive = minExclusive;
    p.defaultValue = defaultValue;
    p.help = QString::fromUtf8(help);
    return p;
}

ParamDescriptor choiceParam(const char *name, QStringList choices, const char *help)
{
    ParamDescriptor p;
    p.name = QString::fromLatin1(name);
    p.type = Type::Choice;
    p.defaultValue = choices.first();
    p.choices = std::move(choices);
    p.help = QString::fromUtf8(help);
    return p;
}

MethodDescriptor method(const char *category, const char *id, const char *title,
                        const char *summary, const char *explanation,
                        std::vector<ParamDescriptor> params = {})
{
    return {QString::fromLatin1(category), QString::fromLatin1(id),        QString::fromUtf8(title),
            QString::fromUtf8(summary),    QString::fromUtf8(explanation), std::move(params)};
}

} // namespace

QString ParamDescriptor::rangeText() const
{
    switch (type) {
    case Type::Int:
    case Type::Double:
        return QStringLiteral("%1%2, %3]")
            .arg(minExclusive ? QStringLiteral("(") : QStringLiteral("["))
            .arg(minimum)
            .arg(maximum);
    case Type::Choice:
        return QStringLiteral("one of ") + choices.join(QStringLiteral(", "));
    case Type::Bool:
        return QStringLiteral("true or false");
    case Type::Text:
        return QStringLiteral("text");
    }
    return {};
}

const std::vector<MethodDescriptor> &methodRegistry()
{
    static const std::vector<MethodDescriptor> methods = {
        method("model", "mlp", "MLP",
               "Fully connected network on the 28x28 image plus an instruction code.",
               "A multi-layer perceptron: the image's 784 pixels and a fixed 16-number code of the "
               "instruction text go in, one score per answer word comes out. Fast enough to run a "
               "whole federated continual experiment in seconds.",
               {intParam("hidden", 8, 4096, 256, "Units in each hidden layer."),
                intParam("layers", 1, 6, 2, "Number of hidden layers.")}),
        method("model", "cnn", "Small CNN",
               "Two convolution blocks, then a classifier that also sees the instruction code.",
               "A small convolutional network: two 5x5 convolution + pooling blocks extract local "
               "image features, then a fully connected head combines them with the instruction "
               "code. Slower than the MLP, but more accurate and more robust to shifted images.",
               {intParam("channels", 2, 128, 16,
                         "Filters in the first convolution (doubled in the second)."),
                intParam("hidden", 8, 4096, 128, "Units in the classifier's hidden layer.")}),

        method("federated", "fedavg", "FedAvg",
               "Average the clients' models, weighted by their data size.",
               "Federated Averaging (McMahan et al. 2017): each round the server sends the global "
               "model to a sample of clients, each trains it for a few epochs on its own data, and "
               "the server replaces the global model by the average of the returned models, "
               "weighted by how many samples each client holds. Raw data never leaves a client."),
        method(
            "federated", "fedprox", "FedProx",
            "FedAvg plus a proximal term that keeps local models near the global one.",
            "FedProx (Li et al. 2020) adds (mu/2)·||w - w_global||² to every client's loss. With "
            "non-IID data, clients that train for long drift towards their own optimum; the "
            "proximal term pulls them back, which stabilises the average. mu = 0 is FedAvg.",
            {doubleParam("mu", 0, 100, 0.01,
                         "Strength of the proximal term (mu/2)·||w - w_global||².")}),

        method("continual", "finetune", "Fine-tune",
               "Train on each new task with no protection of old ones.",
               "Plain sequential fine-tuning: the lower bound. Each stage simply trains on the new "
               "task, so the model overwrites what it knew: this is catastrophic forgetting."),
        method(
            "continual", "replay", "Experience replay",
            "Each client keeps a small reservoir of past samples and mixes them into every batch.",
            "Experience replay (ER): every client keeps a fixed-size buffer filled by reservoir "
            "sampling over everything it has trained on. Each training batch is doubled with an "
            "equal number of samples drawn from the buffer, so old tasks keep being rehearsed. "
            "The buffer stays on the client: nothing extra is communicated.",
            {intParam("buffer_per_client", 1, 100000, 200, "Samples each client may keep.")}),
        method("continual", "ewc", "EWC",
               "Penalise changes to weights that mattered for earlier tasks (diagonal Fisher).",
               "Elastic Weight Consolidation (Kirkpatrick et al. 2017): after each stage every "
               "participating client estimates how important each weight was (the diagonal of the "
               "Fisher information, mean squared gradient), the server averages these, and later "
               "training pays (lambda/2)·Σ F·(w - w*)² for moving important weights. The Fisher "
               "upload is counted in the communication cost.",
               {doubleParam("lambda", 0, 1e7, 100, "Penalty strength."),
                intParam("fisher_samples", 1, 60000, 200,
                         "Samples per client used to estimate the Fisher information.")}),
        method("continual", "lwf", "LwF",
               "Distil the previous stage's model on the new data (no stored samples).",
               "Learning without Forgetting (Li & Hoiem 2016): before a new stage the model is "
               "frozen as a teacher; while learning the new task, the loss also asks the model to "
               "keep the teacher's softened outputs on the new inputs, lambda·T²·KL(teacher || "
               "student) at temperature T. No old data is kept.",
               {doubleParam("lambda", 0, 100, 1.0, "Weight of the distillation loss."),
                doubleParam("temperature", 0.1, 20, 2.0, "Softmax temperature T.", true)}),

        method("partition", "iid", "IID", "Every client gets a uniform random share of each task.",
               "Independent and identically distributed: each client's samples are drawn uniformly "
               "from the task, so all clients see the same label mix. The easy case for FedAvg."),
        method("partition", "dirichlet", "Dirichlet label skew",
               "Each client's label mix is drawn from Dirichlet(alpha).",
               "Label skew: for each client the shares of the task's classes are drawn from a "
               "Dirichlet distribution. Small alpha (0.1) gives clients that see almost one class; "
               "large alpha (100) approaches IID. A client's own dirichlet_alpha overrides it.",
               {doubleParam("alpha", 0.001, 10000, 0.5,
                            "Default concentration for clients without their own.", true)}),
        method("partition", "quantity", "Quantity skew",
               "Client sizes are drawn from Dirichlet(beta), as in FCIT.",
               "Quantity skew: the total of the clients' samples_per_task is re-split over the "
               "clients by a Dirichlet(beta) draw, so some clients hold much more data than others "
               "(FCIT's partition). Draws are repeated until every client has the minimum; if none "
               "succeeds within 100 draws the experiment is rejected with the reason.",
               {doubleParam("beta", 0.001, 10000, 1.0, "Concentration of the size split.", true),
                intParam("min_samples_per_client", 1, 100000, 10,
                         "Smallest acceptable client share.")}),
    };
    return methods;
}

const std::vector<SectionDescriptor> &sectionRegistry()
{
    static const std::vector<SectionDescriptor> sections = {
        {QStringLiteral("model"), QStringLiteral("backbone"), QStringLiteral("mlp"), {}},
        {QStringLiteral("federated"),
         QStringLiteral("method"),
         QStringLiteral("fedavg"),
         {intParam("rounds_per_stage", 1, 10000, 5, "Federated rounds in each stage."),
          intParam("local_epochs", 1, 1000, 1, "Passes over its data a client makes per round."),
          doubleParam("participation", 0, 1, 1.0,
                      "Fraction of the stage's clients sampled each round.", true),
          doubleParam("lr", 0, 10, 0.05, "Learning rate of the local optimizer.", true),
          intParam("batch_size", 1, 4096, 32, "Samples per local step."),
          choiceParam("optimizer", {QStringLiteral("sgd"), QStringLiteral("adam")},
                      "Local optimizer (reset every round)."),
          doubleParam("momentum", 0, 0.999, 0.0, "SGD momentum (ignored by adam).")}},
        {QStringLiteral("continual"), QStringLiteral("method"), QStringLiteral("finetune"), {}},
        {QStringLiteral("partition"), QStringLiteral("method"), QStringLiteral("iid"), {}},
    };
    return sections;
}

const MethodDescriptor *findMethod(const QString &category, const QString &id)
{
    for (const MethodDescriptor &m : methodRegistry()) {
        if (m.category == category && m.id == id) {
            return &m;
        }
    }
    return nullptr;
}

const SectionDescriptor *findSection(const QString &key)
{
    for (const SectionDescriptor &s : sectionRegistry()) {
        if (s.key == key) {
            return &s;
        }
    }
    return nullptr;
}

QStringList methodIds(const QString &category)
{
    QStringList ids;
    for (const MethodDescriptor &m : methodRegistry()) {
        if (m.category == category) {
            ids << m.id;
        }
    }
    return ids;
}

const std::vector<ParamDescriptor> &clientParams()
{
    static const std::vector<ParamDescriptor> params = [] {
        ParamDescriptor alpha =
            doubleParam("dirichlet_alpha", 0.001, 10000, 0.5,
                        "This client's label-skew concentration (dirichlet partition).", true);
        alpha.optional = true;
        alpha.defaultValue = QVariant();
        return std::vector<ParamDescriptor>{
            intParam("samples_per_task", 1, 60000, 500,
                     "Training samples this client holds of each task it meets."),
            alpha,
            doubleParam(
                "speed", 0.01, 1, 1.0,
                "Fraction of its local steps the client finishes per round (stragglers < 1).",
                true),
            doubleParam("dropout", 0, 0.99, 0.0,
                        "Probability that a sampled client never returns its update."),
        };
    }();
    return params;
}

const std::vector<ParamDescriptor> &evaluationParams()
{
    static const std::vector<ParamDescriptor> params = {
        intParam("every_rounds", 1, 10000, 1,
                 "Evaluate the global model every this many rounds (and always at a stage's end)."),
        intParam("test_samples_per_task", 1, 10000, 500, "Held-out test samples per task."),
        choiceParam("mode",
                    {QStringLiteral("class_incremental"), QStringLiteral("task_incremental")},
                    "class_incremental: answers among everything seen so far; task_incremental: "
                    "among the task's own answers."),
    };
    return params;
}

} // namespace fcl
