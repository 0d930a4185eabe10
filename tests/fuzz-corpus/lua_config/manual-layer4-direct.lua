-- lsyncd manual, "Config Layer 4": default.direct copies locally with cp/mv/rm.
sync {
    default.direct,
    source = "/home/user/src/",
    target = "/home/user/dst/",
}
