// libdemucs: HTDemucs (Demucs v4) stem separation with LibTorch, reading the
// official Demucs checkpoints. The public API, and the only header a program
// using libdemucs needs (pkg-config --cflags --libs libdemucs). It includes no
// LibTorch header: audio goes in and out as interleaved float samples.
//
//   demucs::LoadOptions load;                    // device "auto", precision fp32
//   demucs::LoadedModel model = demucs::load_model("htdemucs", "vocals", load);
//
//   // A whole song at once:
//   std::vector<float> vocals = demucs::separate(model, samples, frames, 2);
//
//   // Or as a stream, in pieces of any size, in bounded memory:
//   demucs::StemStream stream(model, demucs::SeparatorOptions{});
//   stream.push(piece, piece_frames, 2);
//   std::vector<float> done = stream.pull();     // interleaved stereo, final frames
//   stream.finish();                             // end of stream
//   std::vector<float> rest = stream.pull();
//
// Errors are the exceptions below (std::invalid_argument for a bad setting;
// the message names it). Thread safety: a LoadedModel may be shared between
// threads; a StemStream is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

// GIO's cancellation object, declared as GIO declares it: only the downloader
// (fetch_model_file) takes one, and this header needs no GLib.
typedef struct _GCancellable GCancellable;

namespace demucs {

// --- Errors ------------------------------------------------------------------

/// Every problem with a checkpoint file. what() names the file and the problem.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A checkpoint asks for an option value this implementation cannot run.
class UnsupportedModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A checkpoint's state does not fit the network its kwargs describe.
class StateMismatchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The requested device (or precision on it) cannot be used here: CUDA with a
/// CPU-only LibTorch or without a GPU, half precision on the CPU.
class DeviceUnavailableError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A model cannot be used: a missing checkpoint path, or a known model whose
/// files are missing from the cache or damaged. The message says what to do.
class ModelNotFoundError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A spec that is neither a file nor a known model name; the message lists the known names.
class UnknownModelError : public ModelNotFoundError {
 public:
  using ModelNotFoundError::ModelNotFoundError;
};

/// A download failed (or this libdemucs has no downloader); the message names
/// the URL and the folder where the file can be put by hand. Nothing of the
/// failed download is left on disk.
class DownloadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// --- Settings -----------------------------------------------------------------

/// The floating-point precision the network computes in. fp16 and bf16 run the
/// convolutions, linear layers and attention in half precision (as PyTorch's
/// autocast does) and keep the STFT, the normalisations and the overlap-add
/// in float32. Half precision needs CUDA, except bf16, which also runs on the CPU.
enum class Precision { fp32, fp16, bf16 };

/// "fp32", "fp16" or "bf16" (also "float32", "float16", "half", "bfloat16");
/// std::invalid_argument for anything else, naming the valid values.
Precision parse_precision(const std::string& name);
/// "fp32", "fp16" or "bf16".
const char* precision_name(Precision precision);

/// The settings of a separation: those of upstream apply_model (overlap,
/// shifts, segment, transition_power) and ours (seed, batch size, stems, threads).
struct SeparatorOptions {
  /// Fraction of a segment that neighbouring chunks share, in [0, 1).
  double overlap = 0.25;
  /// Number of random time shifts averaged (upstream's "shift trick"); 0 = none.
  int shifts = 0;
  /// Seed of the shift offsets: the same numbers as `random.seed(seed)` before
  /// upstream's apply_model.
  std::uint64_t seed = 0;
  /// Segment in seconds; 0 = each model's own. Must not exceed any model's own.
  double segment = 0.0;
  /// Number of ready chunks of one model run in one forward call (>= 1). A
  /// chunk waits until the batch is full (or the stream ends). On a GPU, 4 to 8
  /// keep it busy.
  int batch_size = 1;
  /// Sources to output, in this order; empty = all of the model's sources.
  std::vector<std::string> stems;
  /// Exponent of the triangle weight (>= 1, as upstream asserts).
  double transition_power = 1.0;
  /// LibTorch intra-op threads the separator sets: 0 = all cores, < 0 = leave
  /// the current setting.
  int threads = 0;
};

// --- Loading ------------------------------------------------------------------

/// The stem that is not a source: the mix minus the vocals, computed as
/// upstream's two-stems mode does, the sum of every other source.
inline constexpr const char* kInstrumentalStem = "instrumental";

struct LoadOptions {
  /// "auto" (CUDA when present, else the CPU), "cpu", "cuda" or "cuda:N".
  std::string device = "auto";
  Precision precision = Precision::fp32;
};

struct StemModel;  // what a LoadedModel holds (libdemucs's own)

/// A model loaded to produce one stem. Copies share the loaded network, and so
/// do models loaded from the same file on the same device and precision while
/// any of them lives. The network's memory (on a GPU too) is freed when the
/// last copy goes.
class LoadedModel {
 public:
  const std::string& name() const;                  ///< the known name, or the path
  const std::string& stem() const;                  ///< as requested (several: joined with ',')
  /// The stems a StemStream of this model outputs, in order (one for load_model(spec, stem)).
  const std::vector<std::string>& stems() const;
  const std::vector<std::string>& sources() const;  ///< every source of the model, in order
  int samplerate() const;
  int audio_channels() const;
  double segment_seconds() const;                   ///< the model's own segment
  std::string device() const;                       ///< "cpu", "cuda:0"
  Precision precision() const;
  /// The same for every LoadedModel that shares the first network of its bag.
  const void* network_identity() const;

  /// libdemucs's own view (internal).
  const StemModel& parts() const { return *model_; }
  explicit LoadedModel(std::shared_ptr<const StemModel> model);

 private:
  std::shared_ptr<const StemModel> model_;
};

/// Loads what `stem` needs of the model `spec`: a known model name (from the
/// model cache, only the members of a bag that the stem needs) or the path of
/// a Demucs .th checkpoint. `stem` is a source of the model or "instrumental".
/// Throws ModelNotFoundError / UnknownModelError (the message says where to put
/// the file), CheckpointError, UnsupportedModelError, StateMismatchError,
/// DeviceUnavailableError, and std::invalid_argument for a stem the model does
/// not have (the message lists the valid ones) or a bad device name.
LoadedModel load_model(const std::string& spec, const std::string& stem, const LoadOptions& options = {});

/// Loads what several stems need, for one StemStream that gives them all from
/// one forward pass per chunk. `stems` empty means every valid stem of the
/// model (its sources, then "instrumental" when it has "vocals"). Throws as
/// load_model(spec, stem), and std::invalid_argument for a repeated stem.
LoadedModel load_model(const std::string& spec, const std::vector<std::string>& stems,
                       const LoadOptions& options = {});

/// The valid stems of a model with these sources: its sources, plus
/// "instrumental" when it has "vocals".
std::vector<std::string> valid_stems(const std::vector<std::string>& sources);

// --- Separation ---------------------------------------------------------------

class StreamSeparator;

/// The stems of a model (LoadedModel::stems(): one, or several loaded together)
/// as a stream of interleaved stereo audio. A stem is one source of the
/// model, or ("instrumental") the sum of the other sources. Every stem comes
/// from the same forward passes: one per chunk, however many stems.
class StemStream {
 public:
  /// Output and model audio channels (every Demucs model is stereo).
  static constexpr int kChannels = 2;

  /// options.stems is replaced by the sources the stem needs. Throws
  /// std::invalid_argument for bad options (the message names the field) or a
  /// model that is not stereo.
  StemStream(const LoadedModel& model, SeparatorOptions options);
  ~StemStream();
  StemStream(const StemStream&) = delete;
  StemStream& operator=(const StemStream&) = delete;

  /// `frames` frames of `channels` (1 or 2) interleaved float samples; mono is
  /// duplicated to stereo, as upstream's convert_audio does.
  void push(const float* interleaved, std::int64_t frames, int channels);
  /// The frames of the (first) stem final since the last pull, interleaved stereo.
  std::vector<float> pull();
  /// The frames final since the last pull, one interleaved stereo vector per
  /// stem, in stems() order, all of the same length; a stem set unwanted comes
  /// back empty and costs no copy.
  std::vector<std::vector<float>> pull_stems();
  /// The output stems, in order.
  const std::vector<std::string>& stems() const { return stems_; }
  /// Whether pull_stems() fills stem `index` (all are wanted at first).
  void set_stem_wanted(std::size_t index, bool wanted);
  /// End of stream: every pushed frame becomes final. A second call does nothing.
  void finish();
  /// Back to a fresh stream with the same model and options.
  void reset();

  bool finished() const;
  int samplerate() const;
  std::int64_t frames_pushed() const;
  std::int64_t frames_pulled() const;
  /// Forward calls of the network(s) since construction, resets included
  /// (one per batch of chunks and bag member, whatever the number of stems).
  std::int64_t forward_calls() const;
  /// Frames that must follow a frame before it is final (the algorithmic latency).
  std::int64_t latency_frames() const;
  /// The segment of the separation, in frames.
  std::int64_t segment_frames() const;

 private:
  std::unique_ptr<StreamSeparator> separator_;
  std::vector<std::string> stems_;
  std::vector<std::vector<std::int64_t>> parts_;  // per stem: rows of the separator's output summed
  std::vector<char> wanted_;                      // per stem
  std::int64_t segment_frames_ = 0;
  std::vector<float> stereo_;  // mono input duplicated, reused between pushes
};

/// The stem of a whole mix (`frames` frames of `channels` interleaved
/// samples), interleaved stereo, the same length: upstream apply_model with
/// split=True, through a StemStream.
std::vector<float> separate(const LoadedModel& model, const float* interleaved, std::int64_t frames, int channels,
                            const SeparatorOptions& options = {});

// --- Known models and the model cache -------------------------------------------

/// Where upstream Demucs publishes its checkpoints (demucs/pretrained.py ROOT_URL).
inline constexpr const char* kOfficialModelRoot = "https://dl.fbaipublicfiles.com/demucs/";

/// Environment variable that replaces kOfficialModelRoot, and the roots of the
/// community RoFormer files too (a mirror, or a local server in tests). The
/// files keep their paths below it.
inline constexpr const char* kModelRootEnvVar = "DEMUCS_VOCALS_MODEL_URL";

/// Environment variable that chooses the cache folder.
inline constexpr const char* kModelCacheEnvVar = "DEMUCS_VOCALS_CACHE";

/// One file of a known model.
struct ModelFile {
  std::string file_name;      ///< "955717e8-8726e21a.th": the name in the cache
  std::string remote_path;    ///< "hybrid_transformer/955717e8-8726e21a.th": below the root URL
  /// "8726e21a": the file's sha256 must start with it. Empty when its
  /// publisher gives none (the community RoFormer checkpoints): the sha256 of
  /// the first copy the cache holds is then recorded beside it, in
  /// `<file_name>.sha256`, and every later use and download is checked
  /// against that record (trust on first use).
  std::string sha256_prefix;
  /// The root URL it is published under; empty: upstream Demucs's
  /// (kOfficialModelRoot). $DEMUCS_VOCALS_MODEL_URL replaces either.
  std::string root{};

  /// The download URL below `root` (which should end with '/').
  std::string url_under(const std::string& root) const;
  /// The download URL: below $DEMUCS_VOCALS_MODEL_URL when set, else below
  /// this file's root (model_download_root() for upstream Demucs's files).
  std::string url() const;
};

/// What a known model is, and so what its files are.
enum class ModelArchitecture {
  htdemucs,  ///< files: the Demucs .th checkpoints of a bag, one weights row each
  /// files: the .ckpt checkpoint (ZFTurbo Music-Source-Separation-Training
  /// format), then its .yaml configuration; one weights row, the checkpoint's.
  roformer,
};

/// A known model: one checkpoint, or a bag of them whose outputs are mixed per source.
struct KnownModel {
  std::string name;                  ///< "htdemucs_ft"
  std::string description;           ///< one line for listings
  std::vector<std::string> sources;  ///< output order, e.g. drums bass other vocals
  std::vector<ModelFile> files;      ///< the member checkpoints, in bag order (RoFormer: see ModelArchitecture)
  /// weights[member][source]; upstream BagOfModels uses all ones when the yaml has none.
  std::vector<std::vector<double>> weights;
  ModelArchitecture architecture = ModelArchitecture::htdemucs;
};

/// All known models, in the order listings show them (htdemucs first: the default).
const std::vector<KnownModel>& known_models();
/// The known model called `name`, or nullptr.
const KnownModel* find_known_model(const std::string& name);
/// The known model names joined by ", " (for error messages).
std::string known_model_names();
/// The root URL downloads come from: $DEMUCS_VOCALS_MODEL_URL if set and not
/// empty (a '/' is appended when missing), else upstream's.
std::string model_download_root();

/// The checkpoint files to load for a model spec, and how to mix their outputs.
struct ResolvedModel {
  std::string name;                ///< the known name, or the path as given
  std::vector<std::string> files;  ///< checkpoint paths, in bag order
  /// weights[i][source] for files[i]; an empty row means "1 for every source"
  /// (a checkpoint given by path, whose sources only its kwargs know).
  std::vector<std::vector<double>> weights;
  /// The known model's sources; empty for a path (read them from the checkpoint).
  std::vector<std::string> sources;
  /// roformer for a known RoFormer model or a path ending in ".ckpt".
  ModelArchitecture architecture = ModelArchitecture::htdemucs;
  /// RoFormer: the YAML configuration of files[0]; empty for a path (the
  /// loader's default: the checkpoint's name with .yaml).
  std::string config{};
};

/// What the cache holds of one model file.
enum class CachedFileState {
  missing,     ///< no file of that name
  verified,    ///< present, and its sha256 starts with the expected prefix (or the recorded sha256)
  wrong_hash,  ///< present but damaged or not the published file
};

/// The cache folder: $DEMUCS_VOCALS_CACHE if set and not empty, else
/// $XDG_CACHE_HOME/demucs-vocals (~/.cache/demucs-vocals).
std::string default_model_cache_folder();

/// A cache folder of checkpoints, named as upstream names them.
class ModelCache {
 public:
  explicit ModelCache(std::string folder);

  /// The cache at default_model_cache_folder().
  static ModelCache from_environment();

  const std::string& folder() const { return folder_; }

  /// Where `file` lives (or would live) in this cache.
  std::string path_of(const ModelFile& file) const;

  /// Checks the cached copy of `file` against its sha256 prefix (reads it all).
  /// A file with no published checksum is checked against the sha256 recorded
  /// when it entered the cache; one without a record is trusted, and its
  /// sha256 recorded now (the only write this does).
  CachedFileState state_of(const ModelFile& file) const;
  /// What the sha256 of the cached `file` must start with: its published
  /// prefix, else the recorded sha256, else "" (nothing known yet).
  std::string expected_sha256(const ModelFile& file) const;

  /// Resolves a model spec:
  /// - an existing regular file, or a spec ending in ".th" or ".ckpt": that
  ///   checkpoint, as is (ModelNotFoundError naming the path if it does not
  ///   exist); a ".ckpt" is a RoFormer's;
  /// - a known model name: its cached files, each verified against its sha256
  ///   prefix. `stems` (source names) limits the bag to the members needed for
  ///   them; empty means all members; a RoFormer model's configuration is
  ///   verified with its checkpoint. ("instrumental" is not a source: callers
  ///   ask for "vocals" and subtract.) A missing or damaged file is a
  ///   ModelNotFoundError naming the model, the URLs, this folder and the
  ///   `demucs-vocals fetch` command; a stem the model lacks is std::invalid_argument;
  /// - anything else: UnknownModelError listing the known names.
  ResolvedModel resolve(const std::string& spec, const std::vector<std::string>& stems = {}) const;

 private:
  ResolvedModel resolve_known(const KnownModel& model, const std::vector<std::string>& stems) const;

  std::string folder_;
};

/// Called after each block received: bytes so far, and the total (-1 when the
/// server does not send a length). Values grow; the last call has the full size.
/// An exception thrown from it aborts the download (and propagates).
using DownloadProgress = std::function<void(std::int64_t done, std::int64_t total)>;

/// One file to download into a folder.
struct DownloadRequest {
  std::string url;
  std::string folder;         ///< created if missing
  std::string file_name;      ///< the final name in `folder`
  std::string sha256_prefix;  ///< must be non-empty, unless record_sha256: nothing unverified is kept
  /// Also write the file's sha256 into `<file_name>.sha256` beside it. With an
  /// empty sha256_prefix, the first download is trusted as it is (a publisher
  /// who gives no checksum) and later ones are checked against that record.
  bool record_sha256 = false;
};

/// Downloads request.url into request.folder/request.file_name: streams it into
/// a temporary file `<file_name>.part-XXXXXX` in the same folder, checks the HTTP
/// status (200), the length (when announced) and the sha256 prefix, then renames
/// it into place atomically (replacing any older file of that name). On any
/// failure (network, HTTP status, hash mismatch, disk, cancellation) the
/// temporary file is deleted and DownloadError is thrown. A libdemucs built
/// without the downloader (-Ddownloader=disabled) always throws DownloadError.
void download_verified_file(const DownloadRequest& request, const DownloadProgress& progress = {},
                            GCancellable* cancellable = nullptr);

/// What fetch_model_file did.
enum class FetchOutcome {
  already_cached,  ///< a verified copy was there; nothing was downloaded
  downloaded,
};

/// Makes sure `cache` holds a verified copy of `file`: nothing to do if it has
/// one, else downloads file.url(), checked against cache.expected_sha256(file);
/// a file with no published checksum has its sha256 recorded (trust on first use).
FetchOutcome fetch_model_file(const ModelCache& cache, const ModelFile& file, const DownloadProgress& progress = {},
                              GCancellable* cancellable = nullptr);

}  // namespace demucs
