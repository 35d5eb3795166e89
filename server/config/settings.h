// Every setting of litemcp in one table: its name is the command-line flag
// --<name>, the key in the JSON configuration file (schemas/config.json) and
// the environment variable LITEMCP_<NAME> (upper case, '-' as '_'). Sources,
// from weakest to strongest: the defaults, the configuration file (--config
// or LITEMCP_CONFIG), the environment, the command line -- so a secret can
// stay out of both the file and the process list.
//
// Threading: used once, by main(), before the server starts.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "server/config/config.h"

namespace litemcp::server {

struct setting {
    std::string name;
    std::string help;
    std::function<bool(const std::string&)> set;  // false: the value is invalid
    std::string default_text;
    bool takes_value = true;  // false: a switch, on when given
};

// What main() needs to run.
struct program_options {
    server_config config;
    bool examples = false;
    // What reading the settings found to say (an entry of an MCP servers
    // file that was skipped), and why the last value was refused, when a
    // setting knows better than "invalid value".
    std::vector<std::string> warnings;
    std::string problem;
};

// The table, bound to the fields of o.
std::vector<setting> settings_for(program_options& o);

// help: print the message and exit 0 (--help, --version).
enum class parse_outcome { run, help, invalid };
struct parsed {
    parse_outcome outcome = parse_outcome::run;
    std::string message;  // for help: what to print; for invalid: what is wrong, naming the setting
    std::vector<std::string> warnings;  // for run: what was ignored (an unknown LITEMCP_ variable)
};

// Fills o from every source; env is an environ-style array (may be null).
parsed parse_settings(int argc, const char* const* argv, const char* const* env, program_options& o);
// A switch's value: 1 for true/1/yes/on, 0 for false/0/no/off, -1 otherwise.
int switch_value(std::string_view v);
// The --help text: every setting with its default.
std::string usage(const std::vector<setting>& table);

}  // namespace litemcp::server
