/**
 * SECTION:element-demucsdemux
 * @title: demucsdemux
 * @short_description: every stem of a Demucs v4 model from one pass, a pad per stem
 *
 * demucsdemux runs a Demucs v4 (HTDemucs) model on the audio of its sink pad
 * and gives every stem on a source pad of its own: `src_drums`, `src_bass`,
 * `src_other`, `src_vocals` (and `src_guitar`, `src_piano` for the 6-source
 * models), plus `src_instrumental`, the sum of every source but the vocals.
 * All of them come from the same forward passes: one per segment, however
 * many pads are linked. A stem whose pad is not linked is not copied out of
 * the separation; unlinked pads do not stop the others (the element fails
 * with not-linked only when no pad is linked).
 *
 * The pads are sometimes pads created when the model is loaded (NULL to
 * READY), followed by no-more-pads; they stay while the model's stems stay
 * the same. Properties, input format, latency, progress messages, end of
 * stream, flushing and discontinuities are those of demucsvocals (without
 * its `stem` property); every pad gets the EOS.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=song.mp3 ! decodebin ! audioconvert ! audioresample ! \
 *     demucsdemux name=d \
 *     d.src_vocals ! queue ! audioconvert ! wavenc ! filesink location=vocals.wav \
 *     d.src_instrumental ! queue ! audioconvert ! wavenc ! filesink location=instrumental.wav
 * ]| Vocals and instrumental of an MP3 from one separation.
 * |[
 * gst-launch-1.0 filesrc location=song.flac ! decodebin ! audioconvert ! audioresample ! \
 *     demucsdemux name=d model=htdemucs_6s \
 *     d.src_guitar ! queue ! audioconvert ! wavenc ! filesink location=guitar.wav \
 *     d.src_piano ! queue ! audioconvert ! wavenc ! filesink location=piano.wav
 * ]| The guitar and the piano with the 6-source model; the other pads stay unlinked.
 * |[
 * gst-launch-1.0 filesrc location=song.mp3 ! decodebin ! audioconvert ! audioresample ! \
 *     demucsdemux name=d model=/models/mel_band_roformer.ckpt \
 *     d.src_vocals ! queue ! audioconvert ! wavenc ! filesink location=vocals.wav \
 *     d.src_instrumental ! queue ! audioconvert ! wavenc ! filesink location=instrumental.wav
 * ]| A single-target Mel-Band RoFormer vocals model (its configuration beside it,
 * mel_band_roformer.yaml): pads src_vocals and src_instrumental (the mix minus the vocals).
 */
#include "gst-plugin/gstdemucsdemux.h"

#include "demucs/demucs.h"

#include <string>
#include <vector>

GST_DEBUG_CATEGORY_STATIC(gst_demucs_demux_debug);
#define GST_CAT_DEFAULT gst_demucs_demux_debug

namespace {

constexpr const char* kSrcCaps =
    "audio/x-raw, format=(string)F32LE, layout=(string)interleaved, rate=(int)[1, MAX], channels=(int)2";

GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src_%s", GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS(kSrcCaps));

}  // namespace

struct _GstDemucsDemux {
  GstDemucsSeparator parent;
  // The stems of the source pads now on the element, in pad order.
  std::vector<std::string>* pad_stems;
  std::vector<GstPad*>* pads;  // borrowed: the element owns them
};

G_DEFINE_TYPE(GstDemucsDemux, gst_demucs_demux, GST_TYPE_DEMUCS_SEPARATOR);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(demucsdemux, "demucsdemux", GST_RANK_NONE, GST_TYPE_DEMUCS_DEMUX,
                                      GST_DEBUG_CATEGORY_INIT(gst_demucs_demux_debug, "demucsdemux", 0,
                                                              "Demucs stem separation, a pad per stem"));

namespace {

void remove_pads(GstDemucsDemux* self) {
  for (GstPad* pad : *self->pads) {
    gst_element_remove_pad(GST_ELEMENT(self), pad);
  }
  self->pads->clear();
  self->pad_stems->clear();
}

void add_pads(GstDemucsDemux* self, const std::vector<std::string>& stems) {
  GstElementClass* element_class = GST_ELEMENT_GET_CLASS(self);
  GstPadTemplate* templ = gst_element_class_get_pad_template(element_class, "src_%s");
  for (const auto& stem : stems) {
    const std::string name = "src_" + stem;
    GstPad* pad = gst_pad_new_from_template(templ, name.c_str());
    gst_pad_use_fixed_caps(pad);
    self->pads->push_back(pad);
    self->pad_stems->push_back(stem);
    gst_element_add_pad(GST_ELEMENT(self), pad);
  }
  gst_element_no_more_pads(GST_ELEMENT(self));
}

// A pad per stem of the model; the pads of the last model stay if its stems
// are the same (a state cycle keeps the links).
void model_loaded(GstDemucsSeparator* separator, const demucs::LoadedModel& model) {
  auto* self = GST_DEMUCS_DEMUX(separator);
  if (*self->pad_stems != model.stems()) {
    remove_pads(self);
    add_pads(self, model.stems());
    GST_INFO_OBJECT(self, "%zu source pads", self->pads->size());
  }
  std::vector<GstDemucsSeparatorOutput> outputs;
  for (size_t i = 0; i < self->pads->size(); ++i) {
    outputs.push_back({(*self->pads)[i], i});
  }
  gst_demucs_separator_set_outputs(separator, outputs);
}

void finalize(GObject* object) {
  auto* self = GST_DEMUCS_DEMUX(object);
  delete self->pad_stems;
  delete self->pads;
  G_OBJECT_CLASS(gst_demucs_demux_parent_class)->finalize(object);
}

}  // namespace

static void gst_demucs_demux_class_init(GstDemucsDemuxClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  auto* separator_class = GST_DEMUCS_SEPARATOR_CLASS(klass);
  gobject_class->finalize = finalize;
  separator_class->model_loaded = model_loaded;  // stems_to_load: every stem (the core's default)

  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "Demucs stem demuxer", "Codec/Demuxer/Audio",
      "Separates every stem of music (vocals, drums, bass, ..., instrumental) with a Demucs v4 (HTDemucs) model "
      "in one pass, a source pad per stem",
      "demucs-vocals contributors");
}

static void gst_demucs_demux_init(GstDemucsDemux* self) {
  self->pad_stems = new std::vector<std::string>();
  self->pads = new std::vector<GstPad*>();
}
