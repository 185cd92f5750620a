package org.transcnn.layers;

import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.InputTypeUtil;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.transcnn.layers.runtime.BlockParams;
import org.transcnn.layers.runtime.BlockParams;

import java.util.List;

/**
 * What the fused blocks' layer configurations ({@link InvertedResidual}, {@link HMHSA}) share: NCHW in, the same shape
 * out, checked by {@link #requireInput}; the BatchNorm running statistics under a NoOp updater and weight decay on
 * the convolution weights only (as their {@link BlockParams} name them). Saved configurations name the concrete
 * class only.
 */
public abstract class FusedBlock extends BaseLayer {

    protected FusedBlock() {
    }

    /** Throws, naming the layer, expected and actual, unless this block takes {@code inputType}. */
    abstract void requireInput(InputType inputType);

    /** DL4J decay of all the block's BatchNorm running statistics (PyTorch momentum = 1 - decay). */
    public abstract double getDecay();

    /**
     * The parameter keys of the block's BatchNorm running statistics, in pairs {@code P.mean, P.var} per norm
     * {@code P}, in parameter order: what {@link org.transcnn.models.PreciseBatchNorm} re-estimates.
     */
    public List<String> runningStatisticKeys() {
        return params().paramKeys(this).stream().filter(BlockParams::isRunningStatistic).toList();
    }

    private BlockParams params() {
        return (BlockParams) initializer();
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        requireInput(inputType);
        return inputType;
    }

    @Override
    public void setNIn(InputType inputType, boolean override) {
        requireInput(inputType);
    }

    @Override
    public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
        return InputTypeUtil.getPreProcessorForInputTypeCnnLayers(inputType, getLayerName());
    }

    @Override
    public IUpdater getUpdaterByParam(String paramName) {
        return BlockParams.isRunningStatistic(paramName) ? new NoOp() : iUpdater;
    }

    @Override
    public List<Regularization> getRegularizationByParam(String paramName) {
        return params().isWeight(paramName) ? regularization : null;
    }

    @Override
    public boolean isPretrainParam(String paramName) {
        return false;
    }
}
