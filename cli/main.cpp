// demucs-vocals: the command-line program. Dispatches to a subcommand.
#include "command.h"
#include "fetch_command.h"
#include "models_command.h"
#include "separate_command.h"

#include "demucs/demucs.h"

#include <glib.h>

#include <clocale>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace demucs {
namespace {

constexpr const char *kProgramName = "demucs-vocals";

std::vector<Command> command_table() {
  return {
      fetch_command(),
      models_command(),
      separate_command(),
  };
}

void print_usage(std::FILE *out, const std::vector<Command> &commands) {
  std::fprintf(out, "Usage: %s COMMAND [OPTION...] [ARGUMENT...]\n", kProgramName);
  std::fprintf(out, "   or: %s INPUT -o OUTPUT [OPTION...]  (as separate)\n\n", kProgramName);
  std::fprintf(out, "Separate music into stems with HTDemucs (Demucs v4).\n\nCommands:\n");
  for (const Command &command : commands) {
    const std::string call = std::string(command.name) + " " + command.synopsis;
    std::fprintf(out, "  %-18s %s\n", call.c_str(), command.summary);
  }
  std::fprintf(out,
               "\nRun '%s COMMAND --help' for a command's options.\n\n"
               "Environment:\n"
               "  %-24s the model cache folder (now %s)\n"
               "  %-24s where models are downloaded from (default %s)\n",
               kProgramName, kModelCacheEnvVar, default_model_cache_folder().c_str(),
               kModelRootEnvVar, kOfficialModelRoot);
}

const Command *find_command(const std::vector<Command> &commands, const char *name) {
  for (const Command &command : commands)
    if (std::strcmp(command.name, name) == 0) return &command;
  return nullptr;
}

// Runs `command` with argv[0] = "demucs-vocals <name>" and the given arguments.
int run_command(const Command &command, std::vector<std::string> arguments) {
  std::string program = std::string(kProgramName) + " " + command.name;
  std::vector<char *> argv;
  argv.push_back(&program[0]);
  for (std::string &argument : arguments) argv.push_back(&argument[0]);
  argv.push_back(nullptr);
  char **argv_pointer = argv.data();
  return command.run(static_cast<int>(argv.size() - 1), argv_pointer);
}

int run_program(int argc, char **argv) {
  const std::vector<Command> commands = command_table();
  if (argc < 2) {
    print_usage(stderr, commands);
    return kUsageExitStatus;
  }
  const std::string first = argv[1];
  if (first == "-h" || first == "--help" || first == "help") {
    if (first == "help" && argc > 2) {
      if (const Command *command = find_command(commands, argv[2]))
        return run_command(*command, {"--help"});
    }
    print_usage(stdout, commands);
    return 0;
  }
  if (first == "--version") {
    std::printf("%s %s\n", kProgramName, DEMUCS_VOCALS_VERSION);
    return 0;
  }
  const Command *command = find_command(commands, argv[1]);
  // `demucs-vocals song.mp3 -o vocals.wav`: a file first means separate (which
  // then says if it does not exist); a word that is no command stays an error.
  if (command == nullptr && (g_file_test(argv[1], G_FILE_TEST_EXISTS) || first.find_first_of("./") != std::string::npos))
    return run_command(*find_command(commands, "separate"), std::vector<std::string>(argv + 1, argv + argc));
  if (command == nullptr) {
    std::fprintf(stderr, "%s: unknown command \"%s\"\n\n", kProgramName, argv[1]);
    print_usage(stderr, commands);
    return kUsageExitStatus;
  }
  return run_command(*command, std::vector<std::string>(argv + 2, argv + argc));
}

}  // namespace
}  // namespace demucs

int main(int argc, char **argv) {
  // Only the character set (for GOptionContext's help text); numbers stay in the C format.
  std::setlocale(LC_CTYPE, "");
  return demucs::run_program(argc, argv);
}
