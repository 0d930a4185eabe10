// fsmirror: everything happens in the command the arguments name.

#include "app/commands.hpp"

#include <filesystem>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    std::error_code ec;
    auto working_directory = std::filesystem::current_path(ec);
    return fsmirror::app::dispatch(std::vector<std::string>(argv + 1, argv + argc),
                                   working_directory);
}
