package org.transcnn.kernels;

/**
 * One BatchNorm2d of a fused kernel: its parameters ({@code gamma}, {@code beta}, the running {@code mean} and
 * {@code var}, eps) as the kernel reads them, and the batch statistics a training-mode forward pass computes
 * ({@link #batchMean}, {@link #batchVar}, biased variance), which its backward pass then uses. All arrays [channels].
 */
public final class Norm {

    public final double[] gamma;
    public final double[] beta;
    public final double[] mean;
    public final double[] var;
    public final double eps;
    /** The batch statistics of the last training-mode forward pass; null before one. */
    public double[] batchMean;
    public double[] batchVar;

    public Norm(double[] gamma, double[] beta, double[] mean, double[] var, double eps) {
        int n = gamma.length;
        if (beta.length != n || mean.length != n || var.length != n) {
            throw new IllegalArgumentException("BatchNorm parameters of different lengths: gamma " + n + ", beta "
                    + beta.length + ", mean " + mean.length + ", var " + var.length);
        }
        this.gamma = gamma;
        this.beta = beta;
        this.mean = mean;
        this.var = var;
        this.eps = eps;
    }

    public int channels() {
        return gamma.length;
    }

    /** {@code scale_c = gamma_c / sqrt(var_c + eps)} with the batch (training) or running statistics. */
    public double[] scale(boolean training) {
        double[] v = training ? batchVar : var;
        double[] s = new double[gamma.length];
        for (int c = 0; c < s.length; c++) {
            s[c] = gamma[c] / Math.sqrt(v[c] + eps);
        }
        return s;
    }

    /** {@link #scale(boolean)} of channel {@code c} alone. */
    public double scale(int c, boolean training) {
        return gamma[c] / Math.sqrt((training ? batchVar : var)[c] + eps);
    }

    /** {@link #shift(boolean, double[])} of channel {@code c} alone, for its {@code scale}. */
    public double shift(int c, boolean training, double scale) {
        return beta[c] - (training ? batchMean : mean)[c] * scale;
    }

    /** Makes room for the batch statistics of a training-mode pass that computes them channel by channel. */
    public void startBatchStatistics() {
        batchMean = new double[gamma.length];
        batchVar = new double[gamma.length];
    }

    /** {@code shift_c = beta_c - mean_c * scale_c}. */
    public double[] shift(boolean training, double[] scale) {
        double[] m = training ? batchMean : mean;
        double[] t = new double[gamma.length];
        for (int c = 0; c < t.length; c++) {
            t[c] = beta[c] - m[c] * scale[c];
        }
        return t;
    }

    /**
     * PyTorch's running-statistics update after a training-mode pass over {@code count} values per channel, as the
     * "gradient" DL4J's NoOp updater subtracts: {@code {(1 - decay) (mean - batchMean), (1 - decay) (var - batchVar *
     * count / (count - 1))}} (the unbiased batch variance; decay = 1 - PyTorch's momentum).
     */
    public double[][] runningStatisticsStep(double decay, double count) {
        double unbiased = count > 1 ? count / (count - 1) : 1.0;
        double[] dMean = new double[gamma.length];
        double[] dVar = new double[gamma.length];
        for (int c = 0; c < dMean.length; c++) {
            dMean[c] = (1 - decay) * (mean[c] - batchMean[c]);
            dVar[c] = (1 - decay) * (var[c] - batchVar[c] * unbiased);
        }
        return new double[][] {dMean, dVar};
    }
}
