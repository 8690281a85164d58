"""Cases that convert but fail a deployment target: the GPU delegate, XNNPACK, TFLM, an older runtime."""
