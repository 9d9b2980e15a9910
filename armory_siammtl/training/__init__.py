"""Training losses and loops for STL (lambda_K = 0) and MTL SiamRPN."""
