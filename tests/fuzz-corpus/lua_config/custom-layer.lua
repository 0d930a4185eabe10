local notify = {
    delay = 5,
    onCreate = function(event)
        spawn(event, "/usr/local/bin/notify", event.sourcePath)
    end,
}

sync {
    notify,
    source = "/srv/incoming",
}
