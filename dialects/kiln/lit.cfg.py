# lit.cfg.py - lit configuration for the kiln dialect's FileCheck tests (IR/test, Transforms/test).
import os
import lit.formats

config.name = 'kiln-dialect'
config.test_format = lit.formats.ShTest(True)
config.suffixes = ['.mlir']
config.test_source_root = os.path.dirname(__file__)
bin_dir = lit_config.params.get('kiln_bin_dir', '')
config.environment['PATH'] = os.pathsep.join(
    [p for p in [bin_dir, '/usr/lib/llvm-22/bin', os.environ.get('PATH', '')] if p])
# Keep lit's Output/ directories in the build tree, not beside the sources.
config.test_exec_root = lit_config.params.get('exec_root', os.path.join(bin_dir or '/tmp', 'lit'))
