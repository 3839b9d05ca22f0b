// SPDX-License-Identifier: MIT
// LwF: Li & Hoiem 2016, "Learning without Forgetting": lambda T^2 KL(softmax(z_old/T) ||
// softmax(z_new/T)) on the new data, with the previous stage's global model as the teacher. As in
// Li & Hoiem and van de Ven & Tolias 2019 the distillation covers only the outputs of answers
// learned before the current stage (`distill: old_answers`); `all_outputs` distils every output,
// which also pulls the new task's answers towards the teacher's (kept to show that it fights the
// new task).
#include "core/common/method_descriptor.h"
#include "core/continual/regularizers_p.h"
#include "core/model/method_api_p.h"

namespace fcl::detail {

torch::Tensor distillationLoss(const torch::Tensor &newLogits, const torch::Tensor &oldLogits,
                               double lambda, double temperature)
{
    const torch::Tensor teacher = torch::softmax(oldLogits / temperature, 1);
    const torch::Tensor logTeacher = torch::log_softmax(oldLogits / temperature, 1);
    const torch::Tensor logStudent = torch::log_softmax(newLogits / temperature, 1);
    const torch::Tensor kl = (teacher * (logTeacher - logStudent)).sum(1).mean();
    return kl * (lambda * temperature * temperature);
}

namespace {

class LwfPlugin : public ClientPlugin {
public:
    LwfPlugin(double lambda, double temperature, bool allOutputs)
        : m_lambda(lambda), m_temperature(temperature), m_allOutputs(allOutputs)
    {
    }

    torch::Tensor lossTerm(LocalTraining &training, const Batch &batch, const Outputs &student,
                           int current) override
    {
        if (training.broadcast == nullptr || training.broadcast->empty()) {
            return {};
        }
        torch::Tensor outputs; // the answer indices distilled (undefined: all)
        // A generative backbone distils the whole next-token distribution at every answer
        // position (there are no answer words to select).
        if (!m_allOutputs && student.answerWords) {
            outputs = training.oldAnswers->nonzero().flatten();
            if (outputs.numel() == 0) {
                return {};
            }
        }
        const TensorList &teacherWeights = *training.broadcast;
        Network &teacher = training.model->auxiliary(
            "lwf.teacher", training.broadcastVersion, [&](std::vector<torch::Tensor> &target) {
                torch::NoGradGuard noGrad;
                for (std::size_t i = 0; i < target.size(); ++i) {
                    target[i].copy_(teacherWeights[i].value);
                }
            });
        torch::Tensor teacherLogits;
        torch::Tensor studentLogits;
        if (student.answerWords) {
            {
                torch::NoGradGuard noGrad;
                teacherLogits = teacher.forward(batch.images.narrow(0, 0, current),
                                                batch.instructions.narrow(0, 0, current));
            }
            studentLogits = student.logits.narrow(0, 0, current);
        } else {
            // Same batch, same answer positions: keep the rows of the client's new data.
            {
                torch::NoGradGuard noGrad;
                teacherLogits = teacher.predict(batch).logits;
            }
            const torch::Tensor mine = student.rows.lt(current);
            teacherLogits = teacherLogits.index({mine});
            studentLogits = student.logits.index({mine});
        }
        if (outputs.defined()) {
            studentLogits = studentLogits.index_select(1, outputs);
            teacherLogits = teacherLogits.index_select(1, outputs);
        }
        return distillationLoss(studentLogits, teacherLogits, m_lambda, m_temperature);
    }

private:
    double m_lambda;
    double m_temperature;
    bool m_allOutputs;
};

/// Keeps the global model at each stage's end as the next stage's teacher. Nothing is sent: the
/// clients received that model as the next round's starting point.
class LwfServer : public StagePlugin {
public:
    std::int64_t afterStage(int stage, const TensorList &globalModel, std::vector<Payload> &,
                            const std::vector<double> &) override
    {
        m_broadcast = cloneList(globalModel);
        m_version = stage;
        return 0;
    }
};

} // namespace

MethodDescriptor lwfMethod()
{
    return describeMethod(
        "continual", "lwf", "LwF",
        "Distil the previous stage's model on the new data (no stored samples).",
        "Learning without Forgetting (Li & Hoiem 2016): before a new stage the model is "
        "frozen as a teacher; while learning the new task, the loss also asks the model to "
        "keep the teacher's softened outputs for the answers it already knew, "
        "lambda·T²·KL(teacher || student) at temperature T. No old data is kept.",
        {doubleParam("lambda", 0, 100, 1.0, "Weight of the distillation loss."),
         doubleParam("temperature", 0.1, 20, 2.0, "Softmax temperature T.", true),
         choiceParam("distill", {QStringLiteral("old_answers"), QStringLiteral("all_outputs")},
                     "old_answers: distil only the outputs of answers learned in earlier stages "
                     "(the standard form); all_outputs: every output, the new task's too.")},
        [](const QVariantMap &params) {
            auto parts = std::make_unique<MethodParts>();
            const double lambda = params.value(QStringLiteral("lambda")).toDouble();
            const double temperature = params.value(QStringLiteral("temperature")).toDouble();
            const bool allOutputs =
                params.value(QStringLiteral("distill")).toString() == QLatin1String("all_outputs");
            parts->clientPlugin = [lambda, temperature, allOutputs] {
                return std::make_unique<LwfPlugin>(lambda, temperature, allOutputs);
            };
            parts->stagePlugin = std::make_unique<LwfServer>();
            return parts;
        });
}

} // namespace fcl::detail
