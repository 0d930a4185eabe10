#include "config/lua_sandbox.hpp"

#include "config/yaml_loader.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <utility>

#include <fmt/format.h>
#include <lua.hpp>

#include <time.h>

// Lua reports errors with longjmp (Debian builds it as C). Every C function below that can
// raise a Lua error keeps no C++ object with a destructor alive in its own frame: the C++ work
// happens in member functions that catch everything and return a flag, and the error is raised
// afterwards from a frame that holds only plain values.

namespace fsmirror::config {

namespace {

// A config is a few hundred lines; these bounds only stop runaways (an endless loop, a
// string.rep of a gigabyte).
constexpr std::size_t k_memory_limit = 64 * 1024 * 1024;
constexpr int k_hook_every = 10000;              // instructions between two hook calls
constexpr unsigned long k_max_hook_calls = 5000; // so at most 50 million instructions
// Instructions alone do not bound the time: a loop of a few instructions around a costly
// library call (string.rep) ran for a minute within them (found by fuzz/fuzz_lua_config).
constexpr std::int64_t k_max_cpu_ns = 1'000'000'000;

// CPU time of the calling thread: a reload runs while the daemon's other threads work.
std::int64_t thread_cpu_ns() {
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}
constexpr int k_max_depth = 32; // nested tables in one sync{} argument

// The chunk name Lua prints in messages; replaced by the real origin, which Lua would shorten.
constexpr const char* k_chunk_name = "=config";
constexpr std::string_view k_chunk_prefix = "config:";

// lsyncd 2.2.3's settingsCheckgauge, plus 2.3's onepass.
constexpr const char* k_setting_names[] = {
    "logfile",  "pidfile", "nodaemon", "statusFile",  "statusInterval", "logfacility",
    "logident", "insist",  "onepass",  "inotifyMode", "maxProcesses",   "maxDelays",
};

// Registry keys (their addresses are unique).
char k_markers_key;  // table: layer or builtin table -> its name
char k_settings_key; // the settings function

bool is_setting_name(const char* name) {
    return std::any_of(std::begin(k_setting_names), std::end(k_setting_names),
                       [&](const char* known) { return std::strcmp(known, name) == 0; });
}

class Sandbox {
public:
    explicit Sandbox(std::string origin);
    ~Sandbox();
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;

    LsyncdScript run(const std::string& text);

private:
    static Sandbox& from(lua_State* state) {
        return **static_cast<Sandbox**>(lua_getextraspace(state));
    }
    static void* allocate(void* ud, void* ptr, std::size_t old_size, std::size_t new_size);
    static void count_hook(lua_State* state, lua_Debug* ar);

    // The functions a config calls.
    static int lua_settings(lua_State* state);
    static int lua_sync(lua_State* state);
    static int lua_log(lua_State* state);
    static int lua_print(lua_State* state);
    static int lua_refuse(lua_State* state);
    static int lua_read_only(lua_State* state);
    static int lua_globals_index(lua_State* state);
    static int lua_globals_newindex(lua_State* state);
    // Raises m_pending_error as a Lua error at the caller's position.
    static int raise_pending(lua_State* state);

    void open_libraries();
    void install_lsyncd_api();
    void push_read_only_table(const char* name); // [-1 table to protect] -> [-1 proxy]

    // Copies the value at `index` into `out`. Never raises a Lua error: on failure it returns
    // false with m_pending_error set.
    // `L` is the running thread (a config may call sync{} from a coroutine).
    bool copy_value(lua_State* L, int index, LuaValue& out, int depth,
                    std::vector<const void*>& open_tables);
    bool copy_table(lua_State* L, int index, LuaValue& out, int depth,
                    std::vector<const void*>& open_tables);
    bool record_sync(lua_State* L, int line);
    bool record_settings(lua_State* L, int line);
    bool record_log(const char* text, std::size_t size);
    // The line of the Lua code that called the running C function; 0 when unknown.
    static int caller_line(lua_State* state);
    std::string with_origin(std::string message) const;

    std::string m_origin;
    std::size_t m_memory_used = 0;
    std::size_t m_memory_limit = k_memory_limit;
    unsigned long m_hook_calls = 0;
    std::int64_t m_started_cpu_ns = 0;
    lua_State* m_state = nullptr;
    LsyncdScript m_script;
    std::string m_pending_error;
};

Sandbox::Sandbox(std::string origin) : m_origin(std::move(origin)) {
    m_state = lua_newstate(&Sandbox::allocate, this);
    if (m_state == nullptr)
        throw ConfigError(m_origin + ": cannot start the Lua interpreter (out of memory)");
    *static_cast<Sandbox**>(lua_getextraspace(m_state)) = this;
}

Sandbox::~Sandbox() {
    if (m_state != nullptr)
        lua_close(m_state);
}

void* Sandbox::allocate(void* ud, void* ptr, std::size_t old_size, std::size_t new_size) {
    auto* self = static_cast<Sandbox*>(ud);
    const std::size_t old = ptr != nullptr ? old_size : 0; // else old_size is a type tag
    if (new_size == 0) {
        std::free(ptr);
        self->m_memory_used -= old;
        return nullptr;
    }
    if (new_size > old && self->m_memory_used + (new_size - old) > self->m_memory_limit)
        return nullptr;
    void* grown = std::realloc(ptr, new_size);
    if (grown == nullptr)
        return nullptr;
    self->m_memory_used = self->m_memory_used - old + new_size;
    return grown;
}

void Sandbox::count_hook(lua_State* state, lua_Debug* /*ar*/) {
    Sandbox& self = from(state);
    if (++self.m_hook_calls > k_max_hook_calls ||
        thread_cpu_ns() - self.m_started_cpu_ns > k_max_cpu_ns)
        luaL_error(state, "the configuration runs for too long (an endless loop?)");
}

int Sandbox::caller_line(lua_State* state) {
    lua_Debug ar;
    if (lua_getstack(state, 1, &ar) == 0 || lua_getinfo(state, "l", &ar) == 0)
        return 0;
    return ar.currentline > 0 ? ar.currentline : 0;
}

std::string Sandbox::with_origin(std::string message) const {
    if (message.starts_with(k_chunk_prefix))
        return m_origin + ":" + message.substr(k_chunk_prefix.size());
    return m_origin + ": " + message;
}

int Sandbox::raise_pending(lua_State* state) {
    luaL_where(state, 1);
    lua_pushstring(state, from(state).m_pending_error.c_str());
    lua_concat(state, 2);
    return lua_error(state);
}

void Sandbox::open_libraries() {
    lua_State* L = m_state;
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    lua_pop(L, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    lua_pop(L, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    lua_pop(L, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    lua_pop(L, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    lua_pop(L, 1);
    luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
    lua_pop(L, 1);

    // os: only what reads the clock or the environment.
    luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
    lua_newtable(L);
    for (const char* name : {"getenv", "time", "date", "clock", "difftime"}) {
        lua_getfield(L, -2, name);
        lua_setfield(L, -2, name);
    }
    lua_setglobal(L, "os");
    lua_pop(L, 1);

    // No loading of other code (files or binary chunks) and no bytecode dumps.
    for (const char* name : {"dofile", "loadfile", "load", "require"}) {
        lua_pushnil(L);
        lua_setglobal(L, name);
    }
    lua_getglobal(L, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    lua_pushcfunction(L, &Sandbox::lua_print);
    lua_setglobal(L, "print");
}

// Replaces the table on top of the stack by an empty proxy that reads through to it and refuses
// writes, so `default.rsync.delay = 5` is an error instead of a silent no-op.
void Sandbox::push_read_only_table(const char* name) {
    lua_State* L = m_state;
    lua_newtable(L);          // proxy
    lua_createtable(L, 0, 3); // its metatable
    lua_pushvalue(L, -3);     // the real table
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, name);
    lua_pushcclosure(L, &Sandbox::lua_read_only, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_remove(L, -2); // the real table stays reachable through __index
}

void Sandbox::install_lsyncd_api() {
    lua_State* L = m_state;
    lua_newtable(L); // markers: proxy table -> name
    const int markers = lua_gettop(L);

    lua_newtable(L); // default
    const int defaults = lua_gettop(L);
    struct Layer {
        const char* name;
        int delay;
    };
    for (const Layer& layer : {Layer{"rsync", 15}, Layer{"rsyncssh", 15}, Layer{"direct", 1}}) {
        lua_createtable(L, 0, 1);
        lua_pushinteger(L, layer.delay);
        lua_setfield(L, -2, "delay");
        push_read_only_table(fmt::format("default.{}", layer.name).c_str());
        lua_pushvalue(L, -1);
        lua_pushstring(L, layer.name);
        lua_rawset(L, markers);
        lua_setfield(L, defaults, layer.name);
    }
    for (const char* builtin : {"rsyncExitCodes", "sshExitCodes"}) {
        lua_newtable(L);
        const std::string full = fmt::format("default.{}", builtin);
        push_read_only_table(full.c_str());
        lua_pushvalue(L, -1);
        lua_pushstring(L, full.c_str());
        lua_rawset(L, markers);
        lua_setfield(L, defaults, builtin);
    }
    lua_pushinteger(L, 1000);
    lua_setfield(L, defaults, "maxDelays");
    lua_pushinteger(L, 1);
    lua_setfield(L, defaults, "maxProcesses");
    lua_pushinteger(L, 10);
    lua_setfield(L, defaults, "statusInterval");
    push_read_only_table("default");
    lua_setglobal(L, "default");

    lua_pushvalue(L, markers);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &k_markers_key);
    lua_pop(L, 1); // markers

    lua_pushcfunction(L, &Sandbox::lua_sync);
    lua_setglobal(L, "sync");
    lua_pushcfunction(L, &Sandbox::lua_log);
    lua_setglobal(L, "log");
    for (const char* name : {"spawn", "spawnShell", "terminate", "observefd", "nonobservefd",
                             "alarm", "readdir", "now"}) {
        lua_pushstring(L, name);
        lua_pushcclosure(L, &Sandbox::lua_refuse, 1);
        lua_setglobal(L, name);
    }

    // `settings` lives behind the globals' metatable, so `settings = {...}` reaches __newindex
    // and is refused at its own line.
    lua_pushcfunction(L, &Sandbox::lua_settings);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &k_settings_key);
    lua_pushglobaltable(L);
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, &Sandbox::lua_globals_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, &Sandbox::lua_globals_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);

    // lsyncd's comfort functions for configs.
    static constexpr const char* k_prelude =
        "function string.starts(s, start) return string.sub(s, 1, #start) == start end\n"
        "function string.ends(s, ending) return ending == '' or string.sub(s, -#ending) == "
        "ending end\n";
    if (luaL_loadbufferx(L, k_prelude, std::strlen(k_prelude), "=prelude", "t") != LUA_OK ||
        lua_pcall(L, 0, 0, 0) != LUA_OK)
        throw ConfigError(m_origin + ": internal error preparing the Lua sandbox: " +
                          std::string(lua_tostring(L, -1)));
}

int Sandbox::lua_globals_index(lua_State* L) {
    if (lua_type(L, 2) == LUA_TSTRING && std::strcmp(lua_tostring(L, 2), "settings") == 0) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, &k_settings_key);
        return 1;
    }
    return 0;
}

int Sandbox::lua_globals_newindex(lua_State* L) {
    if (lua_type(L, 2) == LUA_TSTRING && std::strcmp(lua_tostring(L, 2), "settings") == 0)
        return luaL_error(L, "Do not use settings = { ... }; please use settings{ ... } "
                             "(without the equal sign), as lsyncd 2.2 and later require");
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

int Sandbox::lua_read_only(lua_State* L) {
    return luaL_error(L,
                      "%s cannot be changed in fsmirror; set the value in sync{...} or "
                      "settings{...} instead",
                      lua_tostring(L, lua_upvalueindex(1)));
}

int Sandbox::lua_refuse(lua_State* L) {
    return luaL_error(L,
                      "%s() is not available: fsmirror runs no commands and no custom "
                      "layers from its configuration",
                      lua_tostring(L, lua_upvalueindex(1)));
}

int Sandbox::lua_print(lua_State* L) {
    // To stderr: stdout may carry `fsmirror convert`'s YAML.
    const int count = lua_gettop(L);
    for (int i = 1; i <= count; ++i) {
        std::size_t size = 0;
        const char* text = luaL_tolstring(L, i, &size);
        if (i > 1)
            std::fputc('\t', stderr);
        std::fwrite(text, 1, size, stderr);
        lua_pop(L, 1);
    }
    std::fputc('\n', stderr);
    return 0;
}

int Sandbox::lua_log(lua_State* L) {
    // log(category, ...): lsyncd's logger. Kept as "Category: text" for the loader to log.
    const int count = lua_gettop(L);
    luaL_checkstack(L, count + 2, "too many arguments to log()");
    for (int i = 1; i <= count; ++i)
        luaL_tolstring(L, i, nullptr);
    if (count >= 1) {
        lua_pushstring(L, ": ");
        lua_insert(L, count + 2); // after the category
    }
    lua_concat(L, count >= 1 ? count + 1 : 0);
    std::size_t size = 0;
    const char* text = lua_tolstring(L, -1, &size);
    if (!from(L).record_log(text, size))
        return raise_pending(L);
    return 0;
}

int Sandbox::lua_settings(lua_State* L) {
    if (lua_type(L, 1) == LUA_TSTRING) {
        // settings('key'): lsyncd's getter. Scalars only, which is what settings hold.
        const char* key = lua_tostring(L, 1);
        const auto& calls = from(L).m_script.settings;
        for (auto it = calls.rbegin(); it != calls.rend(); ++it) {
            if (it->key != key)
                continue;
            switch (it->value.kind) {
            case LuaValue::Kind::boolean:
                lua_pushboolean(L, it->value.boolean ? 1 : 0);
                return 1;
            case LuaValue::Kind::number:
                lua_pushnumber(L, it->value.number);
                return 1;
            case LuaValue::Kind::string:
                lua_pushlstring(L, it->value.text.data(), it->value.text.size());
                return 1;
            default:
                return 0;
            }
        }
        return 0;
    }
    if (lua_type(L, 1) != LUA_TTABLE)
        return luaL_error(L, "settings needs a table: settings{ logfile = \"...\", ... }");
    lua_settop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
        const char* name = nullptr;
        if (lua_type(L, -2) == LUA_TSTRING)
            name = lua_tostring(L, -2);
        else if (lua_isinteger(L, -2) && lua_type(L, -1) == LUA_TSTRING)
            name = lua_tostring(L, -1); // settings{ 'nodaemon' } means nodaemon = true
        else
            return luaL_error(L, "settings{}: keys must be names, got a %s key",
                              luaL_typename(L, -2));
        if (!is_setting_name(name))
            return luaL_error(L, "setting \"%s\" unknown.", name);
        lua_pop(L, 1);
    }
    if (!from(L).record_settings(L, caller_line(L)))
        return raise_pending(L);
    return 0;
}

int Sandbox::lua_sync(lua_State* L) {
    if (lua_type(L, 1) != LUA_TTABLE)
        return luaL_error(L, "sync needs a table: sync{ default.rsync, source = \"...\", "
                             "target = \"...\" }");
    lua_settop(L, 1);
    if (!from(L).record_sync(L, caller_line(L)))
        return raise_pending(L);
    return 0;
}

bool Sandbox::record_log(const char* text, std::size_t size) {
    try {
        m_script.log_messages.emplace_back(text, size);
        return true;
    } catch (const std::exception& e) {
        m_pending_error = e.what();
        return false;
    }
}

bool Sandbox::record_settings(lua_State* L, int line) {
    try {
        if (!lua_checkstack(L, 4)) {
            m_pending_error = "out of memory";
            return false;
        }
        lua_pushnil(L);
        while (lua_next(L, 1) != 0) {
            LsyncdSettingCall call;
            call.origin = m_origin;
            call.line = line;
            if (lua_type(L, -2) == LUA_TSTRING) {
                std::size_t size = 0;
                const char* key = lua_tolstring(L, -2, &size);
                call.key.assign(key, size);
                std::vector<const void*> open_tables;
                if (!copy_value(L, lua_gettop(L), call.value, 0, open_tables)) {
                    lua_pop(L, 2);
                    return false;
                }
            } else {
                std::size_t size = 0;
                const char* key = lua_tolstring(L, -1, &size); // checked: a string
                call.key.assign(key, size);
                call.value = LuaValue::make_boolean(true);
            }
            m_script.settings.push_back(std::move(call));
            lua_pop(L, 1);
        }
        return true;
    } catch (const std::exception& e) {
        m_pending_error = e.what();
        return false;
    }
}

bool Sandbox::record_sync(lua_State* L, int line) {
    try {
        LsyncdSyncCall call;
        call.origin = m_origin;
        call.line = line;
        std::vector<const void*> open_tables;
        if (!copy_value(L, 1, call.table, 0, open_tables))
            return false;
        m_script.syncs.push_back(std::move(call));
        return true;
    } catch (const std::exception& e) {
        m_pending_error = e.what();
        return false;
    }
}

bool Sandbox::copy_value(lua_State* L, int index, LuaValue& out, int depth,
                         std::vector<const void*>& open_tables) {
    switch (lua_type(L, index)) {
    case LUA_TNIL:
        out.kind = LuaValue::Kind::nil;
        return true;
    case LUA_TBOOLEAN:
        out = LuaValue::make_boolean(lua_toboolean(L, index) != 0);
        return true;
    case LUA_TNUMBER:
        out = LuaValue::make_number(lua_tonumber(L, index));
        return true;
    case LUA_TSTRING: {
        std::size_t size = 0;
        const char* text = lua_tolstring(L, index, &size); // a string: no conversion
        out = LuaValue::make_string(std::string(text, size));
        return true;
    }
    case LUA_TTABLE:
        return copy_table(L, index, out, depth, open_tables);
    case LUA_TFUNCTION: {
        if (!lua_checkstack(L, 2)) {
            m_pending_error = "out of memory";
            return false;
        }
        lua_Debug ar;
        lua_pushvalue(L, index);
        lua_getinfo(L, ">S", &ar); // pops the function
        out.kind = LuaValue::Kind::function;
        out.text = std::strcmp(ar.what, "C") == 0 ? std::string("[C]")
                                                  : fmt::format("{}:{}", m_origin, ar.linedefined);
        return true;
    }
    default:
        out.kind = LuaValue::Kind::other;
        out.text = lua_typename(L, lua_type(L, index));
        return true;
    }
}

bool Sandbox::copy_table(lua_State* L, int index, LuaValue& out, int depth,
                         std::vector<const void*>& open_tables) {
    index = lua_absindex(L, index);
    if (!lua_checkstack(L, 4)) {
        m_pending_error = "out of memory";
        return false;
    }
    // One of lsyncd's predefined tables?
    lua_rawgetp(L, LUA_REGISTRYINDEX, &k_markers_key);
    lua_pushvalue(L, index);
    lua_rawget(L, -2);
    if (lua_type(L, -1) == LUA_TSTRING) {
        const std::string name = lua_tostring(L, -1);
        lua_pop(L, 2);
        if (name.starts_with("default.")) {
            out.kind = LuaValue::Kind::builtin;
            out.text = name;
        } else {
            out = LuaValue::make_layer(name);
        }
        return true;
    }
    lua_pop(L, 2);

    const void* identity = lua_topointer(L, index);
    if (std::find(open_tables.begin(), open_tables.end(), identity) != open_tables.end()) {
        m_pending_error = "a table in sync{} contains itself";
        return false;
    }
    if (depth >= k_max_depth) {
        m_pending_error = fmt::format("tables in sync{{}} are nested more than {} deep", depth);
        return false;
    }
    open_tables.push_back(identity);
    out = LuaValue::make_table();
    std::vector<std::pair<lua_Integer, LuaValue>> numbered;
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        LuaValue value;
        if (!copy_value(L, lua_gettop(L), value, depth + 1, open_tables)) {
            lua_pop(L, 2);
            return false;
        }
        const int key_type = lua_type(L, -2);
        if (key_type == LUA_TSTRING) {
            std::size_t size = 0;
            const char* key = lua_tolstring(L, -2, &size);
            out.fields.push_back(LuaField{std::string(key, size), std::move(value)});
        } else if (key_type == LUA_TNUMBER && lua_isinteger(L, -2)) {
            numbered.emplace_back(lua_tointeger(L, -2), std::move(value));
        } else if (key_type == LUA_TNUMBER) {
            out.odd_keys.push_back(fmt::format("[{}]", lua_tonumber(L, -2)));
        } else if (key_type == LUA_TBOOLEAN) {
            out.odd_keys.push_back(lua_toboolean(L, -2) ? "[true]" : "[false]");
        } else {
            out.odd_keys.push_back(fmt::format("[a {} key]", lua_typename(L, key_type)));
        }
        lua_pop(L, 1);
    }
    open_tables.pop_back();

    std::sort(out.fields.begin(), out.fields.end(),
              [](const LuaField& a, const LuaField& b) { return a.key < b.key; });
    std::sort(numbered.begin(), numbered.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    lua_Integer expected = 1;
    for (auto& [key, value] : numbered) {
        if (key == expected) {
            out.items.push_back(std::move(value));
            ++expected;
        } else {
            out.odd_keys.push_back(fmt::format("[{}]", key));
        }
    }
    return true;
}

LsyncdScript Sandbox::run(const std::string& text) {
    lua_State* L = m_state;
    open_libraries();
    install_lsyncd_api();
    m_started_cpu_ns = thread_cpu_ns();
    lua_sethook(L, &Sandbox::count_hook, LUA_MASKCOUNT, k_hook_every);

    // Text chunks only: a precompiled (binary) chunk could crash the interpreter.
    int status = luaL_loadbufferx(L, text.data(), text.size(), k_chunk_name, "t");
    if (status == LUA_OK)
        status = lua_pcall(L, 0, 0, 0);
    if (status != LUA_OK) {
        std::string message =
            lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error object is not a string";
        if (status == LUA_ERRMEM)
            message = fmt::format("the configuration uses more than {} MiB of memory",
                                  k_memory_limit / (1024 * 1024));
        throw ConfigError(with_origin(std::move(message)));
    }
    return std::move(m_script);
}

} // namespace

LsyncdScript run_lsyncd_script(const std::string& text, const std::string& origin) {
    Sandbox sandbox(origin);
    return sandbox.run(text);
}

} // namespace fsmirror::config
