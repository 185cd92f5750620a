package org.transcnn.layers;

import org.transcnn.layers.runtime.BatchNormLayer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collection;

/**
 * BatchNorm2d as PyTorch computes it, optionally followed by an activation in the same layer
 * ({@link #of(int, IActivation)}): [B, C, H, W] -&gt; same, eps 1e-5, momentum 0.1 (DL4J decay 0.9); in training
 * batch statistics (biased variance) normalise and the running statistics move by momentum towards the batch mean
 * and the unbiased batch variance; in inference the running statistics normalise.
 *
 * <p>Same configuration, parameters ({@code gamma, beta, mean, var}) and serialised form as DL4J's
 * {@link BatchNormalization}, computed by {@link BatchNormLayer}'s fused kernels, several times faster on CPU than
 * DL4J 1.0.0-M2.1's op-by-op implementation.
 */
public class BatchNorm extends BatchNormalization {

    /** PyTorch BatchNorm2d default eps. */
    public static final double EPS = 1e-5;
    /** PyTorch momentum 0.1 = DL4J decay 0.9. */
    public static final double DECAY = 0.9;

    /** The activation applied to the normalised values within the layer; null: none (as in 0.1.0 models). */
    private IActivation fusedActivation;

    public BatchNorm() {
        // for JSON deserialisation; of(...) sets the values
    }

    /**
     * BatchNorm followed by {@code activation} in one layer, {@code act(BN(x))}: normalisation and activation in one
     * pass over the activations instead of two (training mode reads them once more for the batch statistics),
     * nothing kept for the backward pass but the input. SiLU and identity run in the fused kernel;
     * any other activation is applied after it by ND4J. (DL4J's own {@code activationFn} of a BatchNormalization is
     * ignored by its layer, so old configurations carry a meaningless one: this is a field of its own.)
     */
    public static BatchNorm of(int channels, IActivation activation) {
        BatchNorm bn = of(channels);
        bn.setFusedActivation(activation);
        return bn;
    }

    public IActivation getFusedActivation() {
        return fusedActivation;
    }

    public void setFusedActivation(IActivation fusedActivation) {
        this.fusedActivation = fusedActivation instanceof ActivationIdentity ? null : fusedActivation;
    }

    /** BatchNorm over {@code channels} channels with PyTorch's defaults. */
    public static BatchNorm of(int channels) {
        if (channels < 1) {
            throw new IllegalArgumentException("BatchNorm channels must be >= 1, got " + channels);
        }
        BatchNorm bn = new BatchNorm();
        bn.setNIn(channels);
        bn.setNOut(channels);
        bn.setEps(EPS);
        bn.setDecay(DECAY);
        bn.setUseLogStd(false);
        bn.setLockGammaBeta(false);
        return bn;
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf,
            Collection<TrainingListener> listeners, int layerIndex, INDArray paramsView, boolean initializeParams,
            DataType networkDataType) {
        return Layers.instantiate(new BatchNormLayer(conf, networkDataType), conf, listeners, layerIndex, paramsView,
                initializeParams, initializer());
    }

    @Override
    public BatchNorm clone() {
        return (BatchNorm) super.clone();
    }
}
