package org.transcnn.layers;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.transcnn.Fixtures;
import org.transcnn.models.TransCNN;
import org.transcnn.weights.TransCnnWeights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Training and inference modes: BatchNorm uses and updates batch statistics only in training; drop path, dropout
 * and head dropout act only in training, drop path per sample.
 */
class TrainingModeTest {

    static final String F = Fixtures.WITH_GRADS;

    static MultiDataSet batch() {
        INDArray x = Fixtures.npy(F, "input.npy");
        INDArray y = Nd4j.zeros(DataType.FLOAT, 2, 10);
        y.putScalar(0, 1, 1);
        y.putScalar(1, 4, 1);
        return new MultiDataSet(x, y);
    }

    @Test
    void batchNormUpdatesRunningStatisticsOnlyInTraining() throws Exception {
        ComputationGraph net = TransCnnWeights.loadModel(Fixtures.file(F, "model.pth"), Fixtures.builder(F));
        INDArray mean0 = net.getParam("patch_embed.1_mean").dup();
        INDArray var0 = net.getParam("patch_embed.1_var").dup();
        net.output(batch().getFeatures(0));
        net.feedForward(batch().getFeatures(0), false);
        assertEquals(mean0, net.getParam("patch_embed.1_mean"), "inference must not touch running statistics");
        assertEquals(var0, net.getParam("patch_embed.1_var"));

        INDArray bnInput = net.feedForward(batch().getFeatures(0), true).get("patch_embed.0");
        INDArray batchMean = bnInput.mean(0, 2, 3);
        INDArray batchVar = bnInput.var(true, 0, 2, 3);
        net.fit(batch());
        INDArray mean1 = net.getParam("patch_embed.1_mean");
        INDArray var1 = net.getParam("patch_embed.1_var");
        // PyTorch: momentum 0.1, running variance towards the unbiased batch variance
        assertTrue(mean1.reshape(-1).sub(mean0.reshape(-1).mul(0.9).add(batchMean.mul(0.1))).amaxNumber()
                .doubleValue() < 1e-5);
        INDArray expectedVar = var0.reshape(-1).mul(0.9).add(batchVar.mul(0.1));
        double err = var1.reshape(-1).sub(expectedVar).amaxNumber().doubleValue();
        double biasedGap = batchVar.mul(0.1 / (bnInput.length() / bnInput.size(1))).amaxNumber().doubleValue();
        assertTrue(err < biasedGap / 10, "running variance error " + err + " vs biased/unbiased gap " + biasedGap);
    }

    @Test
    void dropPathDropsWholeSamplesAndBackpropUsesTheSameMask() {
        Nd4j.getRandom().setSeed(11);
        DropPath dropPath = new DropPath(0.5);
        INDArray x = Nd4j.rand(DataType.DOUBLE, 400, 2, 3, 3).addi(0.1);
        INDArray out = dropPath.applyDropout(x, x.ulike(), 0, 0, LayerWorkspaceMgr.noWorkspaces());
        int dropped = 0;
        for (int i = 0; i < 400; i++) {
            INDArray o = out.get(NDArrayIndex.point(i));
            INDArray in = x.get(NDArrayIndex.point(i));
            if (o.amaxNumber().doubleValue() == 0) {
                dropped++;
            } else {
                assertEquals(0.0, o.sub(in.mul(2)).amaxNumber().doubleValue(), 1e-12, "kept samples scale by 1/keep");
            }
        }
        assertTrue(dropped > 140 && dropped < 260, "about half the samples dropped, got " + dropped);
        INDArray eps = Nd4j.ones(DataType.DOUBLE, 400, 2, 3, 3);
        INDArray grad = dropPath.backprop(eps, eps.ulike(), 0, 0);
        for (int i = 0; i < 400; i++) {
            boolean wasDropped = out.get(NDArrayIndex.point(i)).amaxNumber().doubleValue() == 0;
            assertEquals(wasDropped ? 0.0 : 2.0, grad.get(NDArrayIndex.point(i)).meanNumber().doubleValue(), 1e-12);
        }
    }

    @Test
    void stochasticLayersActOnlyInTraining() throws Exception {
        ComputationGraph plain = TransCnnWeights.loadModel(Fixtures.file(F, "model.pth"),
                Fixtures.builder(F).headDropRate(0));
        ComputationGraph noisy = TransCnnWeights.loadModel(Fixtures.file(F, "model.pth"),
                Fixtures.builder(F).dropPathRate(0.5).dropRate(0.3).headDropRate(0.5));
        INDArray x = batch().getFeatures(0);
        assertEquals(plain.outputSingle(x), noisy.outputSingle(x), "inference ignores drop path and dropout");
        String logits = TransCNN.LOGITS;
        INDArray a = noisy.feedForward(x, true).get(logits).dup();
        INDArray b = noisy.feedForward(x, true).get(logits).dup();
        assertNotEquals(a, b, "training mode draws new drop-path and dropout masks");
        assertEquals(plain.feedForward(x, true).get(logits), plain.feedForward(x, true).get(logits),
                "without stochastic layers training mode is deterministic");
    }
}
