/**
 * SECTION:element-demucsvocals
 * @title: demucsvocals
 * @short_description: separates vocals (or any stem) from music with Demucs v4
 *
 * demucsvocals runs a Demucs v4 (HTDemucs) model on the audio that flows
 * through it and outputs one stem: the vocals, the instrumental (everything
 * but the vocals), or any source of the model (drums, bass, other, and for
 * the 6-source models guitar and piano). The numbers are those of upstream
 * Demucs' `apply_model` (split into overlapping segments, triangle weights,
 * optional random shifts).
 *
 * Input is 32-bit float audio at the model's sample rate (44100 Hz for the
 * published models), mono or stereo; mono is duplicated to stereo. Output is
 * stereo at the same rate, with exactly as many samples as the input and
 * timestamps that follow the input's. The output lags the
 * input by about one segment (a few seconds, reported in the LATENCY query);
 * at end of stream everything is drained. The network runs in a task of the
 * element, so upstream is never blocked for the seconds a segment takes,
 * while at most about one segment of input waits in the element.
 *
 * The model is a known name (`htdemucs`, `htdemucs_ft`, `htdemucs_6s`, ...,
 * downloaded with `demucs-vocals fetch NAME` into the model cache) or the
 * path of a Demucs `.th` checkpoint, or the path of a BS-RoFormer / Mel-Band
 * RoFormer `.ckpt` checkpoint of the community (Music-Source-Separation-Training
 * format) with its YAML configuration (the `config` property; by default the
 * `.yaml` beside the checkpoint). A RoFormer model is separated as that
 * project's demix does (chunk_size and num_overlap from the configuration,
 * faded overlap-add); for a single-target vocals model, `instrumental` is the
 * mix minus the vocals. It is loaded when the element goes from
 * NULL to READY, so a missing model, a corrupt checkpoint, a stem the model
 * does not have or an unavailable CUDA device is reported before anything
 * plays. Elements of one process that use the same model share one copy.
 *
 * A buffer whose timestamp is not where the stream is expected (a DISCONT, a
 * hole in a live stream, a jump back) is handled as GStreamer's audio sinks
 * and mixers do: within 40 ms it is jitter and ignored; a hole of up to one
 * second is filled with silence (the network keeps its context and nothing
 * is drained); a longer hole or a jump back drains what is buffered and
 * starts a new separation at the new timestamp, its first buffer marked
 * DISCONT. GAP events are separated as silence.
 *
 * To get every stem from one pass, use demucsdemux.
 *
 * Progress is posted on the bus as element messages named `demucs-progress`
 * with fields `processed` (GstClockTime, end of the output produced so far),
 * `total` (GstClockTime, upstream's duration, GST_CLOCK_TIME_NONE when
 * unknown) and `percent` (gdouble, 0 to 100, never decreasing, 100 at the end).
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=song.mp3 ! decodebin ! audioconvert ! audioresample ! \
 *     demucsvocals ! audioconvert ! wavenc ! filesink location=vocals.wav
 * ]| Vocals of an MP3 with the default model (htdemucs).
 * |[
 * gst-launch-1.0 filesrc location=song.flac ! decodebin ! audioconvert ! audioresample ! \
 *     demucsvocals model=htdemucs_ft stem=instrumental device=cuda ! audioconvert ! \
 *     lamemp3enc ! filesink location=karaoke.mp3
 * ]| A karaoke track (everything but the vocals) with the fine-tuned bag, on the GPU.
 * |[
 * gst-launch-1.0 filesrc location=song.flac ! decodebin ! audioconvert ! audioresample ! \
 *     demucsvocals device=cuda precision=fp16 batch-size=8 ! audioconvert ! wavenc ! \
 *     filesink location=vocals.wav
 * ]| The vocals on the GPU in half precision, eight segments per forward pass.
 * |[
 * gst-launch-1.0 filesrc location=song.wav ! wavparse ! audioconvert ! audioresample ! \
 *     demucsvocals model=/path/to/checkpoint.th stem=drums overlap=0.5 shifts=2 ! \
 *     audioconvert ! autoaudiosink
 * ]| The drums of a WAV file with a checkpoint given by path, listened to live.
 * |[
 * gst-launch-1.0 filesrc location=song.flac ! decodebin ! audioconvert ! audioresample ! \
 *     demucsvocals model=/models/model_bs_roformer_ep_317_sdr_12.9755.ckpt \
 *     config=/models/model_bs_roformer_ep_317_sdr_12.9755.yaml ! audioconvert ! \
 *     wavenc ! filesink location=vocals.wav
 * ]| The vocals with a community BS-RoFormer checkpoint and its configuration.
 */
#include "gst-plugin/gstdemucsvocals.h"

#include "demucs/demucs.h"

#include <string>

GST_DEBUG_CATEGORY_STATIC(gst_demucs_vocals_debug);
#define GST_CAT_DEFAULT gst_demucs_vocals_debug

namespace {

constexpr const char* kDefaultStem = "vocals";

constexpr const char* kSrcCaps =
    "audio/x-raw, format=(string)F32LE, layout=(string)interleaved, rate=(int)[1, MAX], channels=(int)2";

GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(kSrcCaps));

enum {
  PROP_0,
  PROP_STEM,
};

}  // namespace

struct _GstDemucsVocals {
  GstDemucsSeparator parent;
  GstPad* srcpad;
  std::string* stem;  // under the object lock
};

G_DEFINE_TYPE(GstDemucsVocals, gst_demucs_vocals, GST_TYPE_DEMUCS_SEPARATOR);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(demucsvocals, "demucsvocals", GST_RANK_NONE, GST_TYPE_DEMUCS_VOCALS,
                                      GST_DEBUG_CATEGORY_INIT(gst_demucs_vocals_debug, "demucsvocals", 0,
                                                              "Demucs stem separation, one stem"));

namespace {

std::vector<std::string> stems_to_load(GstDemucsSeparator* separator) {
  auto* self = GST_DEMUCS_VOCALS(separator);
  GST_OBJECT_LOCK(self);
  std::vector<std::string> stems{*self->stem};
  GST_OBJECT_UNLOCK(self);
  return stems;
}

// The one source pad carries the one stem loaded.
void model_loaded(GstDemucsSeparator* separator, const demucs::LoadedModel&) {
  auto* self = GST_DEMUCS_VOCALS(separator);
  gst_demucs_separator_set_outputs(separator, {{self->srcpad, 0}});
}

void set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_DEMUCS_VOCALS(object);
  switch (prop_id) {
    case PROP_STEM: {
      GST_OBJECT_LOCK(self);
      if (GST_STATE(self) != GST_STATE_NULL) {
        GST_WARNING_OBJECT(self, "property %s can only change in the NULL state; ignored", pspec->name);
      } else {
        const char* stem = g_value_get_string(value);
        *self->stem = stem != nullptr ? stem : kDefaultStem;
      }
      GST_OBJECT_UNLOCK(self);
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

void get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_DEMUCS_VOCALS(object);
  switch (prop_id) {
    case PROP_STEM:
      GST_OBJECT_LOCK(self);
      g_value_set_string(value, self->stem->c_str());
      GST_OBJECT_UNLOCK(self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

void finalize(GObject* object) {
  auto* self = GST_DEMUCS_VOCALS(object);
  delete self->stem;
  self->stem = nullptr;
  G_OBJECT_CLASS(gst_demucs_vocals_parent_class)->finalize(object);
}

}  // namespace

static void gst_demucs_vocals_class_init(GstDemucsVocalsClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  auto* separator_class = GST_DEMUCS_SEPARATOR_CLASS(klass);
  gobject_class->set_property = set_property;
  gobject_class->get_property = get_property;
  gobject_class->finalize = finalize;
  separator_class->stems_to_load = stems_to_load;
  separator_class->model_loaded = model_loaded;

  g_object_class_install_property(
      gobject_class, PROP_STEM,
      g_param_spec_string("stem", "Stem",
                          "Stem to output: any source of the model (vocals, drums, bass, other; guitar and piano "
                          "for 6-source models) or instrumental (the sum of every source but the vocals). Changes "
                          "only in the NULL state",
                          kDefaultStem, static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "Demucs stem separator", "Filter/Effect/Audio",
      "Separates vocals, instrumental or any stem from music with a Demucs v4 (HTDemucs) model",
      "demucs-vocals contributors");
}

static void gst_demucs_vocals_init(GstDemucsVocals* self) {
  self->stem = new std::string(kDefaultStem);
  self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}
