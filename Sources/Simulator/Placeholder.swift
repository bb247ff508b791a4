import Hummingbird
import Logging
import Obshell
import YAML
