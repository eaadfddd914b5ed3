"""The network model, pure and Django-free: data in, data out.

`network` turns AWS descriptions into a `Network`; `traffic` computes the matrix of what the
carrier gateway and the security rules allow; `topology` draws the diagram as SVG; `zones` is the
reference data about Wavelength Zones (carrier, metro, internet ingress) that the panel and the
sandbox both read.
"""
