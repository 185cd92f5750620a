package org.transcnn.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.transcnn.data.FashionMnist;
import org.transcnn.io.ModelFile;
import org.transcnn.train.Evaluation;
import org.transcnn.train.TestTimeAugment;
import org.transcnn.train.Trainer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code transcnn eval}: test accuracy and confusion matrix of a saved model on Fashion-MNIST. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Score a model saved by 'train' on the Fashion-MNIST test set.")
final class EvalCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "model file written by train (OUT/model.zip)")
    Path model;

    @Option(names = "--data", paramLabel = "DIR", description = "directory with the four Fashion-MNIST .gz files, "
            + "which must be there (default: /usr/share/datasets/fashion-mnist, or the embedded 1,000-image test "
            + "sample when that has none)")
    Path data;

    @Option(names = "--tta", description = "test-time augmentation: none, or flip (the mean class probabilities of "
            + "each test image and its mirror); default: what the run evaluated with (recorded in the model file), "
            + "none for a model that records none")
    String tta;

    @Override
    public Integer call() throws Exception {
        TestTimeAugment views;
        try {
            views = tta == null ? null : TestTimeAugment.of(tta, "--tta");
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
        }
        if (data != null) {
            FashionMnist.requirePresent(data, "--data");
        }
        ComputationGraph net = ModelFile.load(model);
        long outputs = net.getConfiguration().getVertices().containsKey(org.transcnn.models.TransCNN.LOGITS)
                ? net.outputSingle(org.nd4j.linalg.factory.Nd4j.zeros(1, 1, Trainer.INPUT_SIZE, Trainer.INPUT_SIZE))
                        .size(1) : -1;
        if (outputs != FashionMnist.CLASSES.size()) {
            throw new IllegalArgumentException(model + " is not a Fashion-MNIST classifier (" + outputs
                    + " outputs, expected " + FashionMnist.CLASSES.size() + " for 1x32x32 inputs)");
        }
        if (views == null) {
            views = Trainer.readState(model).options.tta();
        }
        FashionMnist set = FashionMnist.open(data, "--data", spec.commandLine().getErr()::println);
        Evaluation e = Evaluation.of(net, set.test(), Trainer.INPUT_SIZE, 250, views);
        spec.commandLine().getOut().printf("test accuracy %.4f on %,d images (%s; test-time augmentation %s)%n%s",
                e.accuracy(), e.count(), set.source(), views.cliName(), e.confusionTable(FashionMnist.CLASSES));
        return 0;
    }
}
