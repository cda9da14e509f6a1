# lit.cfg.py - lit configuration for the targets' FileCheck tests: kernel plans written,
# read back and applied through `kiln compile` (they need the kiln binary, not kiln-opt).
import os
import lit.formats

config.name = 'kiln-targets'
config.test_format = lit.formats.ShTest(True)
config.suffixes = ['.test']
config.test_source_root = os.path.dirname(__file__)
bin_dir = lit_config.params.get('kiln_bin_dir', '')
config.environment['PATH'] = os.pathsep.join(
    [p for p in [bin_dir, '/usr/lib/llvm-22/bin', os.environ.get('PATH', '')] if p])
config.environment['KILN_CACHE_DIR'] = 'off'  # every compile applies its plan
config.substitutions.append(('%python', '/usr/bin/python3'))
config.test_exec_root = lit_config.params.get('exec_root', os.path.join(bin_dir or '/tmp', 'lit'))
