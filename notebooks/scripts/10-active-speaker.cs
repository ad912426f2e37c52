// 10 · Who is talking? Streaming active speaker detection with a bounded past and future: the notebook 10-active-speaker.ipynb as a .NET file-based app.
// Written by `dotnet run --project kernel-extensions/NotebookRunner -- export notebooks --to script`; edit the notebook, not this file.
// Run from the repository's root: dotnet run notebooks/scripts/10-active-speaker.cs -- --quick   (--help lists the options; the HTML report's path is printed at the end)
#:project ../../lib/EfficientML/EfficientML.csproj
#:project ../../kernel-extensions/EfficientML.Interactive/EfficientML.Interactive.csproj
#:package Microsoft.DotNet.Interactive
#:package Microsoft.DotNet.Interactive.Formatting
#:property PublishAot=false
#:property TreatWarningsAsErrors=false
#:property GenerateDocumentationFile=false

using EfficientML.ActiveSpeaker;
using EfficientML.Audio;
using EfficientML.Cloning;
using EfficientML.Clustering;
using EfficientML.Core;
using EfficientML.Export;
using EfficientML.Interactive.Scripting;
using EfficientML.Interactive;
using EfficientML.KeywordSpotting;
using EfficientML.Models;
using EfficientML.Pipeline;
using EfficientML.Reparam;
using EfficientML.Routing;
using EfficientML.Speculative;
using EfficientML.Text;
using EfficientML.Vision;
using TorchSharp;
using static EfficientML.Interactive.Scripting.ScriptHost;
using static TorchSharp.torch;

// # 10 · Who is talking? Streaming active speaker detection with a bounded past and future
//
// A video call shows several faces; the microphone hears one voice. **Active speaker detection** decides, frame by frame, which
// face (if any) is the one speaking: the lips of the speaker move *in time with* the sound. Offline detectors look at the whole
// clip, past and future, so they cannot run live. The paper this notebook follows bounds what a decision may use: at most
// **F future frames** (the decision waits F frames: its latency) and at most **P past frames** (what the stream must remember:
// its memory). Its findings: a transformer with a small context matches a uni-directional GRU, and past context matters more
// than future.
//
// **What this notebook tests, plainly.** No talking-face video is available offline, so the faces here are *rendered*: a
// 48×48 grayscale face whose mouth opening follows the phoneme timings of speech synthesized by espeak-ng, with blinks, head
// jitter, lighting drift and pixel noise. A detector that does well here has learned **audio-visual synchrony** (lips moving in
// time with the sound), not to read real faces.
//
// You will:
// 1. draw one face from phoneme timings by hand;
// 2. look at the data: scenes with a speaker, distractors and an off-screen voice;
// 3. see what P and F mean, as an attention mask;
// 4. check that streaming with a ring buffer equals the whole masked computation;
// 5. train a grid of detectors over (P, F) and a GRU, live;
// 6. stream new scenes through them and read what past and future context buy, and what they cost.

// The notebook's first cell loads the extension; a script starts its host instead (torch, formatters, the report).
var scriptHost = ScriptHost.Start("10-active-speaker", args);

// Parameters: command-line options (--NAME VALUE; a bool is a switch, --quick).
bool quick = scriptHost.Option<bool>("quick", false);   // true: a few short scenes, a small grid and a few training steps, for CI and tests (the figures are then not meaningful)
scriptHost.EndOptions();

// ## 1. One face, drawn from phoneme timings
//
// espeak-ng speaks a sentence and reports when each phoneme starts. Each phoneme gets a mouth opening (a **viseme**): lips shut
// for *p, b, m*, wide for *a*, narrow for *i*, closed in pauses. Sampled at 25 frames per second and smoothed (lips do not jump),
// that gives the **viseme curve**, the mouth opening of every video frame. The renderer draws a face with exactly that opening,
// and `MeasureMouth` reads the opening back from the pixels, so we can check the face really follows the timing.

var synth = SpeechSynthesizer.Open();
var voice = new Speaker("en-us", "m3", 50, 170);
var speech = synth.Synthesize("yellow basket by the mountain", voice.Voice(), seed: 3);
var (speechStart, speechEnd) = Visemes.SpeechSpan(speech.Samples, speech.SampleRate);
int frames = (int)(speech.Seconds * Visemes.FramesPerSecond);
var curve = Visemes.Curve(speech.Phonemes, speechStart, speechEnd, frames);

var look = new FaceLook(HeadWidth: 0.8, HeadHeight: 0.85, Skin: 0.65, EyeSpacing: 0.38, MouthWidth: 0.32);
var rng = new Random(5);
var drawn = curve.Select(c => FaceRenderer.Render(look, new FaceState(c), rng, noiseLevel: 0.02)).ToList();
var measured = drawn.Select((pixels, f) => FaceRenderer.MeasureMouth(pixels, look, new FaceState(curve[f]))).ToArray();

Console.WriteLine(string.Join("  ", speech.Phonemes.Take(12).Select(p => $"{p.Phoneme}@{p.Start:0.00}s→{Visemes.Opening(p.Phoneme):0.0}")));
var time = Enumerable.Range(0, frames).Select(f => (f + 0.5) / Visemes.FramesPerSecond).ToList();
display(SeriesChart.Lines(new[]
{
    new Series("viseme curve (what the mouth should do)", time, curve.Select(c => (double)c).ToList()),
    new Series("opening measured in the pixels", time, measured.ToList()),
}, "The drawn mouth follows the phoneme timing", "time (s)", "mouth opening"));
var closedFrame = Array.IndexOf(curve, curve.Where((c, f) => f > frames / 4).Min());
var openFrame = Array.IndexOf(curve, curve.Max());
display(ActiveSpeakerCharts.Crops(new[] { drawn[closedFrame], drawn[openFrame] }, new[] { $"opening {curve[closedFrame]:0.00}", $"opening {curve[openFrame]:0.00}" }, $"The same face at its least open (frame {closedFrame}) and most open (frame {openFrame})"));

// The two curves lie on top of each other: the pixels say what the timing says. (The phoneme line above shows each phoneme, when it
// starts, and its opening.)
//
// ## 2. The data: scenes
//
// A **scene** is several faces on screen and one sound track. Sentences of two to four everyday words, said by espeak-ng voices,
// with silences between:
//
// - one face, the **speaker**, mouths the sentences of its voice, in time;
// - the other faces are **distractors**, each of one kind: mouthing *other* sentences (never heard), mouthing the *heard*
//   sentences **shifted** 0.4 to 1 s early or late, or **still**;
// - some sentences are said by an **off-screen voice**: heard, but no face on screen speaks them.
//
// A face-frame is labelled *speaking* when that face is the speaker and its sentence is heard at that frame. Training,
// validation and test scenes are spoken by **different voices** (no voice is in two splits). Every scene is deterministic from
// its seed.

var offScreen = new Speaker("en", "f2", 60, 160);
var scene = SpeakerScene.Build(synth, voice, offScreen, new SceneOptions { Seconds = 8, Faces = 3, Seed = 2 });
display(scene);

// The shifted distractor is the hard one: its lips move exactly like the speaker's, only at the wrong time. To tell it apart, a
// detector must compare the lips with the sound over a stretch of time longer than the shift: that is what context is for.
//
// ## 3. What P and F mean
//
// The detector embeds every frame on its own: the four log-mel frames (10 ms each) of its 40 ms of audio through a small MLP,
// the face crop through a small CNN, both fused into one vector per face and frame. Only then does a **transformer** look across
// frames: frame *t* may attend to frames *t − P … t + F* and no others, with a learned bias for each relative position (its only
// sense of order). Below, row *t* is lit at the frames it may see, for P = 4 and F = 2:

display(ActiveSpeakerCharts.Band(frames: 20, past: 4, future: 2));

// - **F is latency.** Frame *t*'s decision needs frame *t + F*, so it comes F frames (F × 40 ms) late; with L blocks, L × F.
// - **P is memory.** A stream keeps, per block and face, the keys and values of the last P + F + 1 frames in a **ring buffer**
//   (slot *t mod (P + F + 1)*), and the queries of the F frames still waiting for their future.
// - The **uni-directional GRU** has F = 0 and remembers the whole past in one state vector per face.
//
// ## 4. Streaming equals the whole masked sequence
//
// A camera delivers one frame at a time. `ActiveSpeakerStream` pushes each frame through the encoder and the blocks, writes its
// key and value into the ring, and emits the decision of frame *t − F*; at the end it flushes the last F frames. Here a random
// model with two blocks, P = 8 and F = 3 streams 50 frames of three faces, against the whole sequence computed at once with the
// band mask:

Seeding.Everything(0);
var streamConfig = new ActiveSpeakerConfig { Past = 8, Future = 3, Layers = 2 };
var randomModel = new ActiveSpeakerModel(streamConfig);
using (no_grad()) foreach (var block in randomModel.blocks) block.relativeBias.normal_(0, 1);
randomModel.eval();
var audioIn = randn(50, streamConfig.AudioFeatures);
var cropsIn = rand(3, 50, FaceRenderer.Size, FaceRenderer.Size);
Tensor wholeLogits;
using (no_grad()) wholeLogits = randomModel.Forward(audioIn.unsqueeze(0), cropsIn);
var streamedLogits = tensor(ActiveSpeakerStream.Run(randomModel, audioIn, cropsIn));
var streamDiff = (wholeLogits - streamedLogits).abs().max().item<float>();
var probeBytes = ActiveSpeakerStream.StateBytesOf(randomModel, faces: 3);
Console.WriteLine($"largest difference, streamed vs whole: {streamDiff:G3}");
Console.WriteLine($"decisions come {streamConfig.LatencyFrames} frames ({streamConfig.LatencyFrames * 40} ms) late; the stream keeps {probeBytes:N0} bytes for 3 faces");

// The difference is rounding only (the two orders of summation differ), so a trained model scored on whole scenes scores the
// same as it would live.
//
// ## 5. Training a grid of detectors, live
//
// `#!asd-grid` renders the scenes, then:
//
// 1. trains one **frame encoder** on single frames (P = F = 0) and freezes it, so every model below sees the same features;
// 2. on its embeddings, trains a transformer for every (P, F) of the grid, and the **GRU**, all with the same seed, data and
//    number of steps;
// 3. scores each on the test scenes (voices none of them heard): **mAP**, the average precision of *speaking* over every
//    face-frame, as active speaker detection reports it; frame accuracy; false alarms per kind of face;
// 4. streams a test scene through every model in turn, timing a frame and counting the bytes each stream keeps.
//
// This trains 25 models once each (`--repeats 1`): about fifteen minutes on one laptop core. Two trainings of the same model with
// different seeds differ by a few points of mAP, so read small differences with care; `--repeats 3` trains each model three
// times and shows the mean with its spread (the `asd` benchmark does).

// #!asd-grid --past 0,4,8,16,32,64 --future 0,2,4,8 --steps 600 --encoder-steps 500 --repeats 1
var asdGridOptions = new ContextGridOptions { Pasts = [0, 4, 8, 16, 32, 64], Futures = [0, 2, 4, 8], Seed = 1, Repeats = 1 };
asdGridOptions = asdGridOptions with { Training = asdGridOptions.Training with { Training = asdGridOptions.Training.Training with { Steps = 600, Seed = 1 } }, EncoderTraining = asdGridOptions.EncoderTraining with { Training = asdGridOptions.EncoderTraining.Training with { Steps = 500, Seed = 1 } } };
var asdGridData = new SpeakerDataOptions { TrainScenes = 48, Seed = 1 };
if (quick) (asdGridOptions, asdGridData) = (asdGridOptions.Quick(), asdGridData.Quick());
var asdGridScenes = SpeakerDataset.Build(asdGridData);
var asdGridRuns = LiveView.Follow(ContextGrid.NewRuns(asdGridOptions, asdGridScenes), "Training: the frame encoder, then every (P, F) and the GRU");
var asdGrid = ContextGrid.Run(asdGridScenes, asdGridOptions, asdGridRuns);
display(asdGrid);

// The same in C#: `ContextGrid.Run(SpeakerDataset.Build(new SpeakerDataOptions()), new ContextGridOptions { … })` returns the
// `ContextGridResult` (kept here as `asdGrid`), with every trained model.
//
// **Reading it.** In the line chart, compare how far the lines rise from left to right (more past) with how far apart they are
// (more future); the list under the heat map states both, measured. The false-alarm column for the shifted distractors shows
// where context is spent: a shift of 0.4 to 1 s is 10 to 25 frames, so a model that cannot see that far back cannot tell a
// shifted mouth from the speaker's.
//
// ## 6. Streaming new scenes
//
// Pick a model from the grid and stream a scene it has never seen (`#!asd` renders one with test voices):

var detector = asdGrid.At(32, 4).Model;

// #!asd --model detector --seconds 8 --faces 3 --seed 1
var asdRun = SpeakerRun.OnNewScene(detector, "detector", new SceneOptions { Seconds = 8, Faces = 3, Seed = 1 });
display(asdRun);

// The bars under the frames are the probabilities at those frames; the curves show every frame, with the truth shaded. Now the
// same scene through the model that sees only its own frame (P = 0, F = 0), and through the GRU, in C#
// (`SpeakerRun.OnNewScene` is what `#!asd` calls):

var frameOnlyRun = SpeakerRun.OnNewScene(asdGrid.At(0, 0).Model, "P0 F0", new SceneOptions { Seconds = 8, Faces = 3, Seed = 1 });
display(ActiveSpeakerCharts.Curves(frameOnlyRun));
var gruRun = SpeakerRun.OnNewScene(asdGrid.Gru!.Model, "GRU", new SceneOptions { Seconds = 8, Faces = 3, Seed = 1 });
display(ActiveSpeakerCharts.Curves(gruRun));
Console.WriteLine($"this scene's mAP: P32 F4 {asdRun.Score.AveragePrecision:P1}, P0 F0 {frameOnlyRun.Score.AveragePrecision:P1}, GRU {gruRun.Score.AveragePrecision:P1}");

// ## 7. What the context costs
//
// Memory grows with P + F (the ring buffer); the GRU keeps one vector per face. The time per frame is another matter: on a CPU
// a model this small spends most of a frame on the fixed cost of each tensor operation, not on reading the ring or on arithmetic.
// The grid report works this out from the measured copy bandwidth and matmul rate of this machine (the roofline in its list);
// the chart shows memory and time side by side:

display(ActiveSpeakerCharts.GridCosts(asdGrid));

// ## 8. Self-check

void Check(bool ok, string what)
{
    if (!ok) throw new Exception("Self-check failed: " + what);
    Console.WriteLine("✓ " + what);
}
double Correlation(IReadOnlyList<double> a, IReadOnlyList<double> b)
{
    double ma = a.Average(), mb = b.Average();
    double sab = a.Zip(b).Sum(p => (p.First - ma) * (p.Second - mb)), saa = a.Sum(x => (x - ma) * (x - ma)), sbb = b.Sum(x => (x - mb) * (x - mb));
    return sab / Math.Sqrt(saa * sbb);
}
Check(Correlation(curve.Select(c => (double)c).ToList(), measured) > 0.95, "the drawn mouth follows the viseme curve (correlation above 0.95)");
Check(Enumerable.Range(0, scene.FrameCount).All(t => scene.Speaking.Count(s => s[t]) <= 1), "at most one face speaks at any frame");
Check(scene.Kinds.Count(k => k is null) == 1, "a scene has exactly one speaker");
using (var band = ContextBlock.BandMask(20, 4, 2)) Check(band[10].sum().item<long>() == 7 && band[0].sum().item<long>() == 3, "an inner frame sees P + F + 1 = 7 frames, the first 1 + F = 3");
Check(streamDiff <= 1e-5, "streaming with ring buffers equals the whole masked sequence (≤ 1e-5)");
Check(probeBytes == 2L * 3 * 4 * streamConfig.Width * (2 * streamConfig.RingFrames + 2 * (streamConfig.Future + 1)), "the stream keeps P + F + 1 keys and values and F + 1 waiting frames per block and face");
Check(asdGrid.Points.Count == asdGrid.Options.Pasts.Count * asdGrid.Options.Futures.Count + 1, "the grid trained every (P, F) and the GRU");
Check(asdGrid.Points.All(p => p.Run.Outcome == TrainingOutcome.Completed), "every training completed");
Check(asdGrid.Points.All(p => p.StateBytes > 0 && p.TemporalMs > 0), "every stream was timed and its state counted");
Check(asdGrid.Transformers.Max(p => p.Test.AveragePrecision) > asdGrid.EncoderAlone.AveragePrecision - 0.02 || quick, "context does not lose to the frame encoder alone (full run)");

// ## Exercises
//
// 1. **Deeper, later.** Train one model with two blocks in C#: copy the encoder from a grid model (`ContextGrid.CopyEncoder`),
//    freeze it, `SpeakerTraining.Train(...)`. Each block waits F frames, so the decision waits 2F: is the mAP worth the delay?
// 2. **Future only.** Run `#!asd-grid --past 0 --future 0,2,4,8,16,32`. How much of what the past gave can the future give,
//    and at what latency?
// 3. **A crowd.** Stream a scene with six faces: `#!asd --model detector --faces 6`. Which kind of distractor fools it, and
//    when?
// 4. **End to end.** Train `new ActiveSpeakerModel(new ActiveSpeakerConfig { Past = 32, Future = 4 })` with
//    `SpeakerTraining.Train` without freezing its encoder. Does it beat the frozen-encoder model of the same (P, F)? At what
//    training cost?
// 5. **How far back?** The shifted distractors are 0.4 to 1 s off. From the false-alarm column of the grid table, at which P do
//    they stop fooling the model, and does that match the shift?

scriptHost.Finish();
