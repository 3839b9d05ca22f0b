// SPDX-License-Identifier: MIT
#include "core/sim/registry.h"

#include <algorithm>

namespace fcl {

std::vector<MethodDescriptor> registerBuiltinMethods(); // builtin_methods.cpp

namespace {

MethodDescriptor method(const char *category, const char *id, const char *title,
                        const char *summary, const char *explanation,
                        std::vector<ParamDescriptor> params = {})
{
    return describeMethod(category, id, title, summary, explanation, std::move(params));
}

} // namespace

const std::vector<MethodDescriptor> &methodRegistry()
{
    static const std::vector<MethodDescriptor> methods = [] {
        std::vector<MethodDescriptor> list = {
            method(
                "model", "mlp", "MLP",
                "Fully connected network on the 28x28 image plus an instruction code.",
                "A multi-layer perceptron: the image's 784 pixels and a fixed 16-number code of "
                "the "
                "instruction text go in, one score per answer word comes out. Fast enough to run a "
                "whole federated continual experiment in seconds.",
                {intParam("hidden", 8, 4096, 256, "Units in each hidden layer."),
                 intParam("layers", 1, 6, 2, "Number of hidden layers.")}),
            method(
                "model", "cnn", "Small CNN",
                "Two convolution blocks, then a classifier that also sees the instruction code.",
                "A small convolutional network: two 5x5 convolution + pooling blocks extract local "
                "image features, then a fully connected head combines them with the instruction "
                "code. Slower than the MLP, but more accurate and more robust to shifted images.",
                {intParam("channels", 2, 128, 16,
                          "Filters in the first convolution (doubled in the second)."),
                 intParam("hidden", 8, 4096, 128, "Units in the classifier's hidden layer.")}),
            method(
                "model", "tiny-vlm", "Tiny vision-language model",
                "A small causal transformer that reads image patches and text and writes the "
                "answer.",
                "A decoder-only transformer in the LLaVA pattern, shrunk to run on a CPU: the "
                "image is cut into 16 patches of 7x7 pixels, each projected into the model's "
                "width; the instruction is read one character at a time; the answer is "
                "generated character by character (greedy decoding) and scored by exact match. "
                "It starts from a frozen pretrained base that already reads images and text; "
                "tune it with LoRA or adapters (model.tuning) so that only a small fraction of "
                "the weights is trained and sent.",
                {intParam("width", 16, 1024, 128, "Model width (embedding size)."),
                 intParam("layers", 1, 16, 4, "Transformer blocks."),
                 intParam("heads", 1, 16, 4, "Attention heads (must divide width)."),
                 intParam("max_text", 16, 512, 96,
                          "Text positions (instruction + answer); longer prompts keep their end."),
                 textParam("base", "builtin",
                           "The frozen base: \"builtin\" (shipped, pretrained by fcl pretrain), "
                           "\"none\" (random weights), or a directory with model.safetensors, "
                           "config.json and manifest.json.")}),

            method(
                "partition", "iid", "IID", "Every client gets a uniform random share of each task.",
                "Independent and identically distributed: each client's samples are drawn "
                "uniformly "
                "from the task, so all clients see the same label mix. The easy case for FedAvg."),
            method("partition", "dirichlet", "Dirichlet label skew (per class)",
                   "Each class is split over the clients by Dirichlet(alpha), as NIID-Bench does.",
                   "Label skew as the federated-learning literature defines it (NIID-Bench, Li et "
                   "al. 2022; Hsu et al. 2019): the clients' samples of a task are taken "
                   "class-balanced, then every class is split over the clients by a "
                   "Dirichlet(alpha) draw. Small alpha (0.1) gives clients that see almost one "
                   "class; large alpha (100) approaches IID. Client sizes vary around "
                   "samples_per_task; the pooled data stay balanced. Redrawn until every client "
                   "has 10 samples (at most 100 draws).",
                   {doubleParam("alpha", 0.001, 10000, 0.5,
                                "Concentration of each class's split over the clients.", true)}),
            method("partition", "dirichlet_client_mix", "Dirichlet client label mix",
                   "Each client's label mix is drawn from Dirichlet(alpha); sizes are fixed.",
                   "Label skew with fixed client sizes: for each client the shares of the task's "
                   "classes are drawn from Dirichlet(alpha) and filled from the class pools. Small "
                   "alpha gives clients that see almost one class. Unlike the per-class split the "
                   "pooled data can end up unbalanced. A client's own dirichlet_alpha overrides "
                   "alpha.",
                   {doubleParam("alpha", 0.001, 10000, 0.5,
                                "Default concentration for clients without their own.", true)}),
            method(
                "partition", "quantity", "Quantity skew",
                "Client sizes are drawn from Dirichlet(beta), as in FCIT.",
                "Quantity skew: the total of the clients' samples_per_task is re-split over the "
                "clients by a Dirichlet(beta) draw, so some clients hold much more data than "
                "others "
                "(FCIT's partition). Draws are repeated until every client has the minimum; if "
                "none succeeds within max_draws draws the experiment is rejected with the reason. "
                "rounding \"apportion\" hands out every sample (largest remainder); \"floor\" "
                "gives each client int(share x total) as FCIT's code does, leaving up to "
                "clients - 1 samples unused.",
                {doubleParam("beta", 0.001, 10000, 1.0, "Concentration of the size split.", true),
                 intParam("min_samples_per_client", 1, 100000, 10,
                          "Smallest acceptable client share."),
                 intParam("max_draws", 1, 1000000, 10000,
                          "Dirichlet draws tried before the split is rejected."),
                 choiceParam("rounding", {QStringLiteral("apportion"), QStringLiteral("floor")},
                             "How shares become sizes: apportion (exact total) or floor "
                             "(FCIT's int(p x N)).")}),
        };
        // Federated and continual methods, with their implementations, between the backbones
        // and the partition schemes.
        std::vector<MethodDescriptor> builtin = registerBuiltinMethods();
        const auto firstPartition =
            std::find_if(list.begin(), list.end(), [](const MethodDescriptor &m) {
                return m.category == QLatin1String("partition");
            });
        list.insert(firstPartition, builtin.begin(), builtin.end());
        return list;
    }();
    return methods;
}

const std::vector<SectionDescriptor> &sectionRegistry()
{
    static const std::vector<SectionDescriptor> sections = {
        {QStringLiteral("model"),
         QStringLiteral("backbone"),
         QStringLiteral("mlp"),
         {choiceParam("tuning",
                      {QStringLiteral("full"), QStringLiteral("lora"), QStringLiteral("adapter"),
                       QStringLiteral("prompt"), QStringLiteral("moelora")},
                      "full: train every weight; lora: freeze the base, train low-rank updates "
                      "of the targeted linear layers; moelora: LoRA split into moe_experts "
                      "experts mixed per token by a softmax router (CoIN); adapter: freeze the "
                      "base, train bottleneck "
                      "adapters (and a classifier's output layer); prompt (tiny-vlm): freeze "
                      "the base, train soft prompt vectors put before every sequence."),
          intParam("lora_rank", 1, 256, 8, "LoRA rank r."),
          intParam("moe_experts", 1, 64, 8,
                   "tuning moelora: experts, each of lora_rank / moe_experts ranks (lora_rank "
                   "must be a multiple)."),
          doubleParam("lora_alpha", 0, 4096, 16, "LoRA alpha (the update is scaled by alpha/r).",
                      true),
          doubleParam("lora_dropout", 0, 0.9, 0.0, "Dropout on the LoRA branch's input."),
          textParam("lora_targets", "",
                    "Regular expression searched in layer paths, e.g. attn\\.(q|v)$|mlp\\. "
                    "(empty: tiny-vlm's attention q, v and MLP layers; every linear layer of "
                    "mlp and cnn)."),
          intParam("adapter_width", 1, 1024, 16, "Bottleneck width of each adapter."),
          intParam("prompt_tokens", 1, 64, 8,
                   "Soft prompt length for tuning prompt (learned vectors before every "
                   "sequence).")}},
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
        ParamDescriptor alpha = doubleParam(
            "dirichlet_alpha", 0.001, 10000, 0.5,
            "This client's label-skew concentration (dirichlet_client_mix partition only).", true);
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
        choiceParam("train_heads",
                    {QStringLiteral("auto"), QStringLiteral("shared"), QStringLiteral("per_task")},
                    "per_task: multi-head training, each sample's loss only over its task's own "
                    "answers (the task-incremental protocol of the literature); shared: one head "
                    "over every answer; auto: per_task in task_incremental mode, else shared."),
        choiceParam("task_similarity",
                    {QStringLiteral("auto"), QStringLiteral("on"), QStringLiteral("off")},
                    "Record the tasks' similarity (He et al.: image, instruction and answer "
                    "embeddings of the untrained base) as a task x task heatmap with the first "
                    "round; auto: on for generative backbones."),
    };
    return params;
}

} // namespace fcl
