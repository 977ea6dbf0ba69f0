// Removing a job's folder (DELETE, expiry, uploads cut short) can take
// seconds: a folder of large files, or many, on a slow or shared disk. It is
// done off the main loop, one folder after another in one thread of its own,
// so that requests go on being served meanwhile. A folder whose removal was
// still waiting when the daemon stopped is a folder no job owns: the next
// start removes it (JobScheduler::recover).
#pragma once

#include <string>

namespace demucs {

/// Deletes the folder `path` and everything in it, soon, in the background;
/// never follows a symbolic link (a link is removed, not what it points to).
void remove_tree_in_background(std::string path);

/// Deletes the folder `path` and everything in it now (same rules); for
/// callers that are off the main loop already.
void remove_tree(const std::string &path);

/// Waits until every removal asked for so far is done (tests, shutdown).
void wait_for_background_removals();

}  // namespace demucs
