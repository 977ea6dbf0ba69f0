#include "benchmark/child_process.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace demucs::benchmark {

std::string this_program_path() {
  char path[4096];
  const ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
  if (length <= 0) {
    throw std::runtime_error(std::string("cannot find this program's path: ") + std::strerror(errno));
  }
  return std::string(path, static_cast<size_t>(length));
}

ChildResult run_child_process(const std::string& program, const std::vector<std::string>& arguments) {
  ChildResult result;
  int pipe_ends[2];
  if (pipe(pipe_ends) != 0) {
    result.failure = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  std::vector<std::string> args = arguments;
  args.insert(args.begin(), program);
  std::vector<char*> argv;
  for (std::string& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) {
    result.failure = std::string("fork: ") + std::strerror(errno);
    close(pipe_ends[0]);
    close(pipe_ends[1]);
    return result;
  }
  if (pid == 0) {
    dup2(pipe_ends[1], STDOUT_FILENO);
    close(pipe_ends[0]);
    close(pipe_ends[1]);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  close(pipe_ends[1]);
  char buffer[4096];
  ssize_t n;
  while ((n = read(pipe_ends[0], buffer, sizeof buffer)) != 0) {
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    result.output.append(buffer, static_cast<size_t>(n));
  }
  close(pipe_ends[0]);

  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      result.failure = std::string("wait4: ") + std::strerror(errno);
      return result;
    }
  }
  result.peak_rss_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  result.cpu_seconds = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  while (!result.output.empty() && result.output.back() == '\n') {
    result.output.pop_back();
  }
  if (WIFSIGNALED(status)) {
    result.failure = "killed by signal " + std::to_string(WTERMSIG(status));
  } else if (WEXITSTATUS(status) != 0) {
    result.failure = "exit status " + std::to_string(WEXITSTATUS(status));
  } else if (result.output.empty()) {
    result.failure = "no output";
  }
  result.ok = result.failure.empty();
  return result;
}

double json_number(const std::string& json, const std::string& key) {
  const std::string quoted = "\"" + key + "\": ";
  const std::size_t at = json.find(quoted);
  if (at == std::string::npos) {
    throw std::runtime_error("no " + key + " in " + json);
  }
  return std::strtod(json.c_str() + at + quoted.size(), nullptr);
}

}  // namespace demucs::benchmark
