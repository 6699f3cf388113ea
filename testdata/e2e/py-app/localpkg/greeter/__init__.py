def greet(who):
    return "hello from %s, packaged by pip" % who
