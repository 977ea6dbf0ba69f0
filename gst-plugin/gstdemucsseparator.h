/* The streaming core of the Demucs elements, as an abstract GstElement: the
 * sink pad, the model (loaded NULL -> READY), the SeparationWorker and the
 * task that runs the network, events, flushing, discontinuities, latency,
 * position and progress. A subclass says which stems to load and gives the
 * source pads that carry them:
 *   demucsvocals: one always pad "src" for the stem of its `stem` property;
 *   demucsdemux:  a sometimes pad "src_<stem>" per stem of the model.
 * Every stem comes from the same forward passes. */
#pragma once

#include <gst/gst.h>

#include <string>
#include <vector>

namespace demucs {
class LoadedModel;
}

G_BEGIN_DECLS

#define GST_TYPE_DEMUCS_SEPARATOR (gst_demucs_separator_get_type())
G_DECLARE_DERIVABLE_TYPE(GstDemucsSeparator, gst_demucs_separator, GST, DEMUCS_SEPARATOR, GstElement)

struct _GstDemucsSeparatorClass {
  GstElementClass parent_class;

  /* The stems to load the model for, in output order; empty = every stem of
   * the model (its sources, then "instrumental"). Called NULL -> READY. */
  std::vector<std::string> (*stems_to_load)(GstDemucsSeparator* self);
  /* The model is loaded (NULL -> READY): give the source pads with
   * gst_demucs_separator_set_outputs(). */
  void (*model_loaded)(GstDemucsSeparator* self, const demucs::LoadedModel& model);
};

/* One source pad and the stem it carries: its index in the loaded model's
 * stems() (LoadedModel::stems()). */
struct GstDemucsSeparatorOutput {
  GstPad* pad;
  gsize stem;
};

/* Sets the source pads (the element keeps its own references to them). The
 * pads must already be added to the element; their query function is set to
 * the core's (caps, latency, position). Only from model_loaded(). */
void gst_demucs_separator_set_outputs(GstDemucsSeparator* self, const std::vector<GstDemucsSeparatorOutput>& outputs);

/* GObject data set on the element from READY on: the address of the loaded
 * network (the first member of the bag), shared by every element of the
 * process that loaded the same model file on the same device. For tests and
 * diagnostics; never dereference it. */
#define GST_DEMUCS_VOCALS_MODEL_DATA "demucsvocals-loaded-model"

/* Structure name of the element message that reports progress: fields
 * "processed" (GstClockTime, end of the output produced), "total"
 * (GstClockTime, upstream's duration or GST_CLOCK_TIME_NONE) and
 * "percent" (gdouble, 0-100, never decreasing, 100 at end of stream). */
#define GST_DEMUCS_VOCALS_PROGRESS_MESSAGE "demucs-progress"

/* Discontinuities in the input timestamps (see timeline_tracker.h):
 * a timestamp within this of where the stream is expected is continuous
 * (as GstAudioBaseSink's and GstAudioAggregator's alignment-threshold). */
#define GST_DEMUCS_ALIGNMENT_THRESHOLD (40 * GST_MSECOND)
/* A forward hole up to this long is filled with silence; a longer one, or a
 * jump back, drains the separation and starts a new one at the new timestamp. */
#define GST_DEMUCS_MAX_FILLED_GAP (GST_SECOND)

G_END_DECLS
