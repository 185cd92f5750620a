package org.transcnn.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transcnn.Fixtures;
import org.transcnn.train.SampleData;
import org.transcnn.train.Trainer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code transcnn train} and {@code eval} errors, each one exact line with its exit code, and the states a run can
 * be left in: a kill during the first checkpoint, a finished run, a resume with other options.
 */
class TrainCommandTest {

    @TempDir
    Path dir;

    static final String HINT = " (see 'transcnn train --help')";

    static void assertErr(TransCnnCliAccess.Result r, int code, String... lines) {
        assertEquals(List.of(lines), r.err().strip().lines().toList(), r.err());
        assertEquals(code, r.code(), r.err());
    }

    /** A bad value is a parameter error (exit 2) naming the option, the value and what was expected. */
    @Test
    void aBadValueIsOneLineNamingTheOption() {
        Path out = dir.resolve("out");
        String[][] cases = {
            {"--epochs", "0", "--epochs 0: expected at least 1"},
            {"--batch-size", "0", "--batch-size 0: expected at least 1"},
            {"--limit", "-5", "--limit -5: expected 0 (all training images) or more"},
            {"--lr", "0", "--lr 0: expected a finite number above 0"},
            {"--label-smoothing", "1", "--label-smoothing 1: expected at least 0 and below 1"},
            {"--channels", "0", "--channels 0: expected at least 1"},
            {"--width", "0", "--channels 0: expected at least 1"},
            {"--precise-bn", "-1", "--precise-bn -1: expected 0 (off) or a number of training images"},
            {"--stem-stride", "3", "--stem-stride 3: expected 4 (stage 1 at 8x8) or 2 (stage 1 at 16x16)"},
            {"--stem-stride", "0", "--stem-stride 0: expected 4 (stage 1 at 8x8) or 2 (stage 1 at 16x16)"},
            {"--time-budget", "0", "--time-budget 0: expected a finite number of seconds above 0"},
            {"--time-budget", "-2.5", "--time-budget -2.5: expected a finite number of seconds above 0"},
            {"--time-budget", "Infinity", "--time-budget Infinity: expected a finite number of seconds above 0"},
            {"--attention-stages", "4", "--attention-stages 4: stage index 4 is out of range: expected 0..3 "
                    + "(0-based: 0 is stage 1, at the largest maps)"},
            {"--attention-stages", "0,0", "--attention-stages 0,0: stage index 0 appears twice"},
            {"--attention-stages", "1-2", "--attention-stages 1-2: expected all, none or stage indices 0..3 separated "
                    + "by commas (0 is stage 1), e.g. 0 or 0,1"},
            {"--attention-stages", "", "--attention-stages '': expected all, none or stage indices 0..3 separated "
                    + "by commas (0 is stage 1), e.g. 0 or 0,1"},
        };
        for (String[] c : cases) {
            TransCnnCliAccess.Result r = TransCnnCliAccess.run("train", "--out", out.toString(), c[0], c[1]);
            String[] expected = c[0].equals("--width") ? new String[] {"transcnn: train --width is deprecated, use "
                    + "--channels (--width is the image width in benchmark, predict and summary)",
                "transcnn: " + c[2] + HINT} : new String[] {"transcnn: " + c[2] + HINT};
            assertErr(r, 2, expected);
        }
        assertErr(TransCnnCliAccess.run("train", "--out", out.toString(), "--width", "4", "--channels", "4"), 2,
                "transcnn: --width 4 and --channels 4: --width is the old name of --channels; give --channels only"
                        + HINT);
        assertErr(TransCnnCliAccess.run("train", "--out", out.toString(), "--ablation", "--attention-stages", "0"), 2,
                "transcnn: --ablation and --attention-stages 0: the ablation has H-MHSA in no stage; give one of the "
                        + "two" + HINT);
        assertFalse(Files.exists(out), "nothing created");
    }

    /** Only the default location falls back to the embedded sample; a named directory must hold the dataset. */
    @Test
    void anExplicitDataDirectoryWithoutTheDatasetIsAnError() throws Exception {
        Path out = dir.resolve("out");
        Path none = dir.resolve("none");
        assertErr(TransCnnCliAccess.run("train", "--out", out.toString(), "--data", none.toString()), 1,
                "transcnn: --data " + none + ": no such directory, expected a directory with the four Fashion-MNIST "
                        + ".gz files (leave --data out for /usr/share/datasets/fashion-mnist or the embedded sample)");
        Path empty = Files.createDirectory(dir.resolve("empty"));
        assertErr(TransCnnCliAccess.run("train", "--out", out.toString(), "--data", empty.toString()), 1,
                "transcnn: --data " + empty + ": no Fashion-MNIST there (missing train-images-idx3-ubyte.gz, "
                        + "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz); leave "
                        + "--data out for /usr/share/datasets/fashion-mnist or the embedded sample");
        assertFalse(Files.exists(out), "checked before the output directory is made");
        assertErr(TransCnnCliAccess.run("eval", "--model", "x.zip", "--data", none.toString()), 1,
                "transcnn: --data " + none + ": no such directory, expected a directory with the four Fashion-MNIST "
                        + ".gz files (leave --data out for /usr/share/datasets/fashion-mnist or the embedded sample)");
    }

    /**
     * A kill during the first checkpoint leaves only OutputFiles' temporary file: --resume says there is nothing to
     * continue and how to start, a fresh run removes the leftover and trains; a resume of the finished run has
     * nothing to do, and one with other options names each difference.
     */
    @Test
    void aKillDuringTheFirstCheckpointThenAFinishedRun() throws Exception {
        Path out = Files.createDirectory(dir.resolve("run"));
        Path leftover = Files.createFile(out.resolve(".model.zip.123.tmp"));
        String data = SampleData.dir().toString();
        String[] run = {"train", "--out", out.toString(), "--data", data, "--epochs", "1", "--batch-size", "32",
            "--channels", "4", "--limit", "64"};
        TransCnnCliAccess.Result resume = TransCnnCliAccess.run(with(run, "--resume"));
        assertErr(resume, 1, "transcnn: removed " + leftover + ", a partial file left by an interrupted write",
                "transcnn: --resume: " + out + " has no model.zip to continue (the run was stopped while writing its "
                        + "first checkpoint; the partial file is removed); start the run without --resume: "
                        + "bin/transcnn train --out " + out + " --data " + data + " --epochs 1 --batch-size 32 "
                        + "--channels 4 --limit 64");

        Files.createFile(leftover);
        Files.createFile(out.resolve(".metrics.json.456.tmp"));
        TransCnnCliAccess.Result fresh = TransCnnCliAccess.run(run);
        assertEquals(0, fresh.code(), fresh.err());
        assertTrue(fresh.err().contains("transcnn: removed " + leftover), fresh.err());
        try (var files = Files.list(out)) {
            assertEquals(List.of(Trainer.CHART_FILE, Trainer.METRICS_FILE, Trainer.MODEL_FILE),
                    files.map(f -> f.getFileName().toString()).sorted().toList());
        }

        assertErr(TransCnnCliAccess.run(with(run, "--resume")), 0,
                "transcnn: the run in " + out + " is complete (1 of 1 epochs); nothing to do");
        String[] other = with(run, "--resume");
        other[8] = "16";
        other[10] = "8";
        assertErr(TransCnnCliAccess.run(other), 1, "transcnn: --resume: the options differ from those of the run in "
                + out + ": --batch-size 32 in the run, 16 now; --channels 4 in the run, 8 now; resume with the run's "
                + "options: bin/transcnn train --out " + out + " --resume --data " + data + " --epochs 1 "
                + "--batch-size 32 --channels 4 --limit 64");
    }

    /** eval reads model.zip files: a PyTorch checkpoint is named as such, with the commands that read it. */
    @Test
    void evalOnAPyTorchCheckpointSaysWhatItIs() {
        Path pth = Fixtures.file("transcnn-mini-64", "model.pth");
        assertErr(TransCnnCliAccess.run("eval", "--model", pth.toString()), 1, "transcnn: " + pth + ": a PyTorch "
                + "checkpoint (state_dict .pth), not a model.zip written by ModelFile.save or 'transcnn train'; read "
                + "it with TransCnnWeights (on the command line: infer or predict --weights)");
        assertErr(TransCnnCliAccess.run("eval", "--model", dir.toString()), 1,
                "transcnn: " + dir + " (model): not a regular file but a directory");
    }

    /** infer checks --out before reading the checkpoint or computing anything. */
    @Test
    void inferChecksTheOutputDirectoryFirst() throws Exception {
        Path file = Files.writeString(dir.resolve("file"), "x");
        String[] args = {"infer", "--weights", dir.resolve("not-read.pth").toString(), "--input",
            Fixtures.file("transcnn-mini-64", "input.npy").toString(), "--out", file.toString()};
        assertErr(TransCnnCliAccess.run(args), 1,
                "transcnn: --out " + file + ": exists and is not a directory, expected an output directory");
        args[args.length - 1] = file.resolve("sub").toString();
        assertErr(TransCnnCliAccess.run(args), 1,
                "transcnn: --out " + file.resolve("sub") + ": cannot be created: " + file + " is a file, not a "
                        + "directory");
    }

    private static String[] with(String[] args, String extra) {
        String[] out = java.util.Arrays.copyOf(args, args.length + 1);
        out[args.length] = extra;
        return out;
    }
}
