// File descriptors: every connection, upload, pipeline and the database
// take some. The soft limit (often 1024) is raised to the hard one at start,
// and the connection cap is kept under it with room for the rest.
#pragma once

namespace demucs {

/// Raises RLIMIT_NOFILE's soft limit to its hard limit; returns the limit
/// now in force.
long raise_descriptor_limit();

/// Descriptors kept for what is not a connection: the listener, the
/// database, uploads being written, pipelines and their threads, logs.
constexpr long kDescriptorsForTheRest = 64;

/// The most connections that fit under `descriptor_limit`, at least 1.
int connections_under_limit(long descriptor_limit, int max_uploads, int max_jobs);

}  // namespace demucs
