import os
import pwd

import greeter

with open("/srv/app/data/state.txt") as f:
    state = f.read().strip()
print(greeter.greet("python"))
print("user=%s state=%s" % (pwd.getpwuid(os.getuid()).pw_name, state))
