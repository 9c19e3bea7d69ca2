// The demo's view-model suite, run by scripts/test-kotlin.sh.
package org.wangge.demo.tests

import org.wangge.tests.runSuites

fun main(args: Array<String>) {
    runSuites("android-demo", listOf(demoTests(), fieldTests(), storeKeyTests()), args)
}
