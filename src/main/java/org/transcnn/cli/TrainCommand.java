package org.transcnn.cli;

import org.transcnn.train.Augment;
import org.transcnn.train.Parallelism;
import org.transcnn.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code transcnn train}: trains TransCNN on Fashion-MNIST (see {@link Trainer}). */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train TransCNN on Fashion-MNIST; checkpoints, metrics.json and curves.png go to --out.")
final class TrainCommand implements Callable<Integer> {

    private static final Trainer.Options D = Trainer.Options.defaults();

    @Option(names = "--data", description = "directory with the four Fashion-MNIST .gz files (default ${DEFAULT-VALUE}; "
            + "the embedded sample when absent)")
    Path data = D.data();

    @Option(names = "--out", description = "output directory (default ${DEFAULT-VALUE})")
    Path out = D.out();

    @Option(names = "--epochs", description = "epochs (default ${DEFAULT-VALUE})")
    int epochs = D.epochs();

    @Option(names = "--batch-size", description = "batch size (default ${DEFAULT-VALUE})")
    int batchSize = D.batchSize();

    @Option(names = "--lr", description = "peak learning rate (default ${DEFAULT-VALUE})")
    double lr = D.learningRate();

    @Option(names = "--weight-decay", description = "decoupled weight decay (default ${DEFAULT-VALUE})")
    double weightDecay = D.weightDecay();

    @Option(names = "--label-smoothing", description = "label smoothing (default ${DEFAULT-VALUE})")
    double labelSmoothing = D.labelSmoothing();

    @Option(names = "--width", description = "channels of stage 1; stages double it (default ${DEFAULT-VALUE})")
    int width = D.width();

    @Option(names = "--seed", description = "random seed (default ${DEFAULT-VALUE})")
    long seed = D.seed();

    @Option(names = "--limit", description = "use only the first N training images, shuffled each epoch (default: all)")
    int limit = D.trainLimit();

    @Option(names = "--augment", description = "training augmentation: none, flip (mirror), shift-flip (random "
            + "offset on the 32x32 canvas and mirror); default ${DEFAULT-VALUE}")
    String augment = D.augment().cliName();

    @Option(names = "--ablation", description = "train the same network without H-MHSA (IRB-only blocks)")
    boolean ablation;

    @Option(names = "--resume", description = "continue the run in --out from its last checkpoint")
    boolean resume;

    @Option(names = "--workers", description = "models training in parallel on this machine, each on its own batches "
            + "(DL4J ParallelWrapper; default 1)")
    int workers = 1;

    @Option(names = "--parallel-mode", description = "with --workers > 1: averaging (parameters and updater state "
            + "averaged every --averaging-frequency rounds) or shared (shared gradients); default ${DEFAULT-VALUE}")
    String parallelMode = "averaging";

    @Option(names = "--averaging-frequency", description = "rounds (one batch per worker) between two averagings "
            + "(default ${DEFAULT-VALUE})")
    int averagingFrequency = 1;

    @Override
    public Integer call() throws Exception {
        Parallelism parallel = new Parallelism(workers, Parallelism.Mode.of(parallelMode), averagingFrequency);
        new Trainer(new Trainer.Options(data, out, epochs, batchSize, lr, weightDecay, D.warmupEpochs(),
                labelSmoothing, seed, ablation, resume, width, limit, Augment.of(augment)), parallel, System.err).run();
        return 0;
    }
}
