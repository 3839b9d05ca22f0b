// SPDX-License-Identifier: MIT
#include "core/model/model_p.h"
#include "core/model/parameters_p.h"
#include "tests/support/test_support.h"

#include <QTest>

using namespace fcl::detail;

class TestModel : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void mlpHasTheExpectedTrainableParameters()
    {
        NetworkShape shape; // 784 pixels + 16 instruction numbers in, 12 answers out
        auto net =
            makeNetwork(QStringLiteral("mlp"),
                        {{QStringLiteral("hidden"), 256}, {QStringLiteral("layers"), 2}}, shape);
        const std::int64_t expected = (800 * 256 + 256) + (256 * 256 + 256) + (256 * 12 + 12);
        std::int64_t count = 0;
        for (const auto &p : net->trainableParameters()) {
            count += p.numel();
        }
        QCOMPARE(count, expected);
        QCOMPARE(byteSize(net->trainableParameters()), expected * 4);
        QCOMPARE(net->forwardMacsPerSample(), double(800 * 256 + 256 * 256 + 256 * 12));
    }

    void backbonesMapABatchToOneScorePerAnswer_data()
    {
        QTest::addColumn<QString>("backbone");
        QTest::newRow("mlp") << QStringLiteral("mlp");
        QTest::newRow("cnn") << QStringLiteral("cnn");
    }

    void backbonesMapABatchToOneScorePerAnswer()
    {
        QFETCH(QString, backbone);
        torch::manual_seed(1);
        auto net = makeNetwork(backbone, {}, NetworkShape{});
        const auto logits = net->forward(torch::rand({5, 784}), torch::rand({5, 16}));
        QCOMPARE(logits.size(0), 5);
        QCOMPARE(logits.size(1), 12);
        QVERIFY(torch::isfinite(logits).all().item<bool>());
    }

    void frozenParametersAreNotTrainable()
    {
        auto net =
            makeNetwork(QStringLiteral("mlp"), {{QStringLiteral("layers"), 1}}, NetworkShape{});
        const std::size_t all = net->trainableParameters().size();
        net->parameters().front().set_requires_grad(false); // a frozen base layer
        QCOMPARE(net->trainableParameters().size(), all - 1);
    }

    void sameSeedGivesTheSameInitialWeights()
    {
        torch::manual_seed(42);
        auto a = makeNetwork(QStringLiteral("cnn"), {}, NetworkShape{});
        torch::manual_seed(42);
        auto b = makeNetwork(QStringLiteral("cnn"), {}, NetworkShape{});
        const auto pa = a->trainableParameters();
        const auto pb = b->trainableParameters();
        for (std::size_t i = 0; i < pa.size(); ++i) {
            QVERIFY(torch::equal(pa[i], pb[i]));
        }
        TensorList named;
        for (std::size_t i = 0; i < pa.size(); ++i) {
            named.push_back({std::to_string(i), pa[i]});
        }
        TensorList copies = cloneList(named);
        copies[0].value.add_(1.0);
        QVERIFY(!torch::equal(copies[0].value, pa[0])); // deep copies
    }
};

QTEST_GUILESS_MAIN(TestModel)
#include "tst_model.moc"
