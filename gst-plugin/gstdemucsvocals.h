/* demucsvocals: separates one stem (vocals, instrumental, drums, ...) from
 * music with a Demucs v4 (HTDemucs) model, as a streaming GStreamer element. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DEMUCS_VOCALS (gst_demucs_vocals_get_type())
G_DECLARE_FINAL_TYPE(GstDemucsVocals, gst_demucs_vocals, GST, DEMUCS_VOCALS, GstElement)

GST_ELEMENT_REGISTER_DECLARE(demucsvocals);

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

G_END_DECLS
