#pragma once
// A plain C++ copy of a Lua value, taken while an lsyncd config runs (see lua_sandbox.hpp). The
// translation to config::Config works on these copies only, so it is pure and needs no Lua.

#include <string>
#include <string_view>
#include <vector>

namespace fsmirror::config {

struct LuaField;

struct LuaValue {
    enum class Kind {
        nil,
        boolean,
        number,
        string,
        table,
        function, // `text` says where it was defined: "lsyncd.conf.lua:12", or "[C]"
        layer,    // one of lsyncd's default layers; `text` is "rsync", "rsyncssh" or "direct"
        builtin,  // another table lsyncd predefines; `text` names it: "default.rsyncExitCodes"
        other,    // userdata, thread...; `text` is Lua's type name
    };

    Kind kind = Kind::nil;
    bool boolean = false;
    double number = 0;
    std::string text;             // string value, or see Kind
    std::vector<LuaField> fields; // table: entries with string keys, sorted by key
    std::vector<LuaValue> items;  // table: the values at keys 1..n (n = the border)
    // table: a description of every other key ("[0]", "[true]", "[2.5]"), for messages
    std::vector<std::string> odd_keys;

    // Returns the field named `key` of a table, nullptr when absent (or when this is no table).
    const LuaValue* field(std::string_view key) const;
    LuaValue* field(std::string_view key);

    // Lua's truth: everything but nil and false.
    bool truthy() const { return kind != Kind::nil && !(kind == Kind::boolean && !boolean); }

    // Returns how the value reads in a message: "true", "15", "'abc'", "a table", "a function
    // (defined at lsyncd.conf.lua:12)", "default.rsync".
    std::string describe() const;

    static LuaValue make_nil();
    static LuaValue make_boolean(bool value);
    static LuaValue make_number(double value);
    static LuaValue make_string(std::string value);
    static LuaValue make_table();
    static LuaValue make_layer(std::string name);
};

struct LuaField {
    std::string key;
    LuaValue value;
};

// Defined once LuaField is complete: clang instantiates the destructor of `fields` here.
inline LuaValue LuaValue::make_nil() {
    return {};
}

} // namespace fsmirror::config
